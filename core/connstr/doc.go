// Package connstr parses lakelink connection strings into [Options], and
// writes Options back as connection strings.
//
// Every lakelink export (the Go packages, the C ABI, the Python and Node
// bindings, the CLI) takes its settings as one connection string, parsed
// here once into an [Options]; nothing else in lakelink reads connection
// string text. Go programs may also fill an Options directly.
//
// # Grammar
//
// A connection string is a list of Key=Value pairs separated by semicolons:
//
//	Host=https://example.cloud.databricks.com;AuthScheme=OAuthPKCE;Port=5432
//
// The rules, all of them:
//
//   - Keys are matched case-insensitively ("port", "PORT" and "Port" are one
//     key). Some keys have aliases, accepted in their place: DatabricksInstance
//     for Host. [Keys] lists the canonical names.
//   - Whitespace around keys and values is ignored.
//   - A value may be quoted with " or ' to hold ";", "=", or leading and
//     trailing whitespace. Inside a quoted value the quote character is
//     written twice to stand for itself (see the example below). After the
//     closing quote only whitespace may follow before the next ";". An
//     unquoted value may hold "=" (a key ends at the first "="), and quote
//     characters anywhere but at its start.
//   - An empty value means "not given", for every key: Port= is the same as
//     leaving Port out, and Set(key, "") clears a key. It follows that no key
//     can be set to the empty string.
//   - Empty segments (";;", a leading or trailing ";") are ignored.
//   - Each key may be given once; an alias counts as the same key, so
//     Host=a;DatabricksInstance=b is an error.
//   - Enumerated values (AuthScheme, InitiateOAuth, SSLMode) are matched
//     case-insensitively and stored in their canonical spelling.
//
// For example, this sets the password it's;x, the user "a b " (with its
// trailing space) and the application name x=1:
//
//	Password='it''s;x'; User = "a b "; ApplicationName=x=1
//
// # Errors
//
// Parse is all-or-nothing: on the first error it returns no Options. Errors
// are of type [*Error] and name the key at fault (or, for a segment that
// has no key, its position), the allowed values, and for an unknown key the
// closest known one. They never include the value of a secret key, nor text
// that may be part of one (see [Error]).
//
// # Secrets
//
// The keys for which [IsSecret] reports true (OAuthClientSecret, Token,
// OAuthAccessToken, OAuthRefreshToken, OAuthVerifier, Password) hold
// credentials. Their values never appear in an error, in [Options.String],
// or in [Options.Redacted]; those show "***" in their place. So does the
// userinfo password of any value that is a URL (Host=http://user:***@host,
// and likewise Server, DiscoveryURL, CallbackURL). Only
// [Options.Format] writes them out, for handing a complete connection
// string to a child process; its result must never be logged.
package connstr
