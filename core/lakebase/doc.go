// Package lakebase connects to Lakebase, Databricks' managed PostgreSQL,
// with OAuth: the Postgres password is a short-lived credential that
// lakelink mints with the workspace token, shares across the process and
// renews ahead of expiry, so that a pool lives for days. Sessions already
// open are not affected by expiry (Lakebase checks the password at login
// only); a login refused with 28P01 forces one renewal and one retry,
// except for the workspace token at a server whose certificate is not
// checked (see unverifiedToken).
//
// Connect opens a Pool, which its caller closes; Open opens one session of
// its own, which Close ends on the server. Both log in alike, and take the
// same connection string as the rest of lakelink (see package connstr):
// Server, Port, Database, User, SSLMode (default verify-full for Lakebase
// hosts, see sslMode), SSLServerCert, ApplicationName and Timeout; a
// Pool's size and limits (MinConnections, MaxConnections, MaxIdleTime,
// MaxLifetime, PoolTimeout: see pool.go's defaults); and for the password
// AuthScheme=Password with Password, or Instance (Lakebase Provisioned),
// Endpoint (Lakebase Autoscaling) or neither (the workspace token itself).
// A Lakebase host given as Host (alias DatabricksInstance) is the Server,
// not the workspace: that then comes from DATABRICKS_HOST or a profile.
package lakebase
