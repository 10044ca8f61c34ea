package ops

import (
	"context"
	"errors"

	"github.com/lakelink/lakelink/core/connstr"
	"github.com/lakelink/lakelink/core/lakebase"
)

// Credential is what a host's own Postgres driver needs to log in as the
// connection's identity: the WASI operation lakebase_credential. Password
// is a secret.
type Credential struct {
	Host            string `json:"host"`
	Port            int    `json:"port"`
	Database        string `json:"database"`
	User            string `json:"user"`
	Password        string `json:"password"`
	SSLMode         string `json:"sslmode"`
	SSLRootCert     string `json:"sslrootcert"`
	SSLRootCertPEM  string `json:"sslrootcert_pem"`
	ApplicationName string `json:"application_name"`
	// ExpiresAt is when Password expires; null when unknown (a Password
	// given, a personal access token). Ask again before then: the answer
	// is cached per identity and renewed ahead of expiry.
	ExpiresAt Instant `json:"expires_at"`
}

// String describes the login without its password.
func (c Credential) String() string {
	return lakebase.LoginInfo{Host: c.Host, Port: c.Port, Database: c.Database, User: c.User, SSLMode: c.SSLMode,
		SSLRootCert: c.SSLRootCert, ApplicationName: c.ApplicationName}.String() + " expires_at=" + c.ExpiresAt.String()
}

// GoString is String, so that %#v hides the password too.
func (c Credential) GoString() string { return c.String() }

// GetCredential mints (or reuses, until it nears expiry) the Lakebase
// credential of r.Conn.
func (p Ops) GetCredential(ctx context.Context, r Conn) (c *Credential, err error) {
	defer classify(&err, Database)
	o, err := connstr.Parse(r.Conn)
	if err != nil {
		return nil, err
	}
	l, err := p.Config.Login(ctx, o)
	if err != nil {
		return nil, err
	}
	return &Credential{Host: l.Host, Port: l.Port, Database: l.Database, User: l.User, Password: l.Password,
		SSLMode: l.SSLMode, SSLRootCert: l.SSLRootCert, SSLRootCertPEM: l.SSLRootCertPEM, ApplicationName: l.ApplicationName,
		ExpiresAt: Instant{l.ExpiresAt}}, nil
}

// The Lakebase sessions and pools of the C library: its handles are Go
// values here.

// Connect opens a Lakebase session of its own for r.Conn, in autocommit
// mode; closing it ends the session on the server.
func (p Ops) Connect(ctx context.Context, r Conn) (c *lakebase.Conn, err error) {
	defer classify(&err, Database)
	o, err := connstr.Parse(r.Conn)
	if err != nil {
		return nil, err
	}
	return p.Config.Open(ctx, o)
}

// OpenPool opens a pool of Lakebase sessions for r.Conn, sized by its
// properties; it logs in once now, so that a wrong host, user or
// credential is reported here.
func (p Ops) OpenPool(ctx context.Context, r Conn) (pool *lakebase.Pool, err error) {
	defer classify(&err, Database)
	o, err := connstr.Parse(r.Conn)
	if err != nil {
		return nil, err
	}
	return p.Config.Connect(ctx, o)
}

// Acquire takes a session from pool ("" userToken), or from the pool's
// sessions of the App user whose access token userToken is (the
// X-Forwarded-Access-Token header's value). Closing it returns it to its
// pool.
func Acquire(ctx context.Context, pool *lakebase.Pool, userToken string) (c *lakebase.Conn, err error) {
	defer classify(&err, Database)
	return SessionsOf(pool, userToken).Acquire(ctx)
}

// Sessions are a pool's sessions of one identity: its own, or an App user's.
type Sessions interface {
	Acquire(ctx context.Context) (*lakebase.Conn, error)
	Pipeliner
}

// SessionsOf is pool's own sessions (userToken ""), or those of the App
// user whose access token userToken is.
func SessionsOf(pool *lakebase.Pool, userToken string) Sessions {
	if userToken == "" {
		return pool
	}
	return pool.AsUser(userToken)
}

// PoolStats counts a pool's sessions: lakelink.h's lakelink_pool_stats.
type PoolStats struct {
	Total    int `json:"total"`    // sessions open: idle, acquired or logging in
	Idle     int `json:"idle"`     // open and free
	Acquired int `json:"acquired"` // taken, not yet returned
	Waiting  int `json:"waiting"`  // acquires waiting for a session
	Max      int `json:"max"`      // MaxConnections
	Min      int `json:"min"`      // MinConnections
	// Timeout is PoolTimeout in seconds: how long an acquire waits for a
	// free session.
	Timeout float64 `json:"timeout"`
	// Users is how many App users' pools the pool keeps (MaxUsers at
	// most), UserSessions their sessions.
	Users        int `json:"users"`
	UserSessions int `json:"user_sessions"`
}

// Stats counts pool's sessions now.
func Stats(pool *lakebase.Pool) PoolStats {
	s := pool.Stats()
	return PoolStats{Total: s.Total, Idle: s.Idle, Acquired: s.Acquired, Waiting: s.Waiting, Max: s.Max, Min: s.Min,
		Timeout: s.Timeout.Seconds(), Users: s.Users, UserSessions: s.UserSessions}
}

// ClosePool closes pool: its idle sessions now, acquired ones when they
// are returned.
func ClosePool(pool *lakebase.Pool) { pool.Close() }

// Statement is SQL with PostgreSQL's $1..$n placeholders and its encoded
// parameters (TYPES.md, "Parameters"; none when empty).
type Statement struct {
	SQL    string
	Params []byte
}

// Execute runs s on c.
func Execute(ctx context.Context, c *lakebase.Conn, s Statement) (r *lakebase.Result, err error) {
	defer classify(&err, Database)
	args, err := decodeArgs(s)
	if err != nil {
		return nil, err
	}
	return c.Execute(ctx, s.SQL, args...)
}

// decodeArgs decodes s's parameters (none when empty).
func decodeArgs(s Statement) ([]any, error) {
	if s.Params == nil {
		return nil, nil
	}
	args, err := lakebase.DecodeParams(lakebase.DefaultFormat, s.Params)
	if err != nil {
		return nil, &ArgumentError{Message: err.Error(), Err: err}
	}
	return args, nil
}

// Column is a result column: lakelink.h's lakelink_result_columns.
type Column struct {
	Name     string `json:"name"`
	TypeOID  uint32 `json:"type_oid"`
	TypeName string `json:"type_name"`
}

// Columns are r's columns ([] for a statement without rows).
func Columns(r *lakebase.Result) []Column {
	return columnsOf(r.Columns())
}

// columnsOf is the wire form of a result's columns.
func columnsOf(columns []lakebase.Column) []Column {
	cols := []Column{}
	for _, c := range columns {
		cols = append(cols, Column{c.Name, c.TypeOID, c.TypeName})
	}
	return cols
}

// Batch asks for up to MaxRows (<= 0: 1000) rows in Format ("columnar",
// the default when "", or "pickle"; TYPES.md).
type Batch struct {
	MaxRows int
	Format  string
}

// NextBatch encodes the next rows of r as b asks; nil at the end.
func NextBatch(r *lakebase.Result, b Batch) (batch []byte, err error) {
	defer classify(&err, Database)
	f, err := batchFormat(b.Format)
	if err != nil {
		return nil, err
	}
	return r.NextBatch(f, b.MaxRows)
}

// FirstBatch is a statement's columns and first batch, read in the call
// that ran it (lakelink_query).
type FirstBatch struct {
	Columns []Column
	Batch   []byte
	// Result is nil when the rows all came (the result is closed, and
	// CommandTag and RowsAffected are set); otherwise it is the open
	// result to read on, and CommandTag and RowsAffected wait for its end.
	Result       *lakebase.Result
	CommandTag   string
	RowsAffected int64
}

// Query runs s on c like Execute and reads its columns and first batch.
// On failure nothing is left open.
func Query(ctx context.Context, c *lakebase.Conn, s Statement, b Batch) (first *FirstBatch, err error) {
	defer classify(&err, Database)
	f, err := batchFormat(b.Format)
	if err != nil {
		return nil, err
	}
	r, err := Execute(ctx, c, s)
	if err != nil {
		return nil, err
	}
	return firstBatch(r, f, b)
}

// SendQuery sends s on c without waiting for its answer, for the caller
// to feed it (lakebase.Conn.SendQuery).
func SendQuery(c *lakebase.Conn, s Statement) (sending lakebase.Sending, err error) {
	defer classify(&err, Database)
	args, err := decodeArgs(s)
	if err != nil {
		return lakebase.NotSent, err
	}
	return c.SendQuery(s.SQL, args)
}

// SessionSocket is a duplicate of c's socket, for its caller to watch
// while it feeds an answer (lakebase.Conn.SessionSocket).
func SessionSocket(c *lakebase.Conn) (fd int, err error) {
	defer classify(&err, Database)
	return c.SessionSocket()
}

// PrepareQuery prepares sql on c for SendQuery (lakebase.Conn.PrepareQuery).
func PrepareQuery(ctx context.Context, c *lakebase.Conn, sql string) (err error) {
	defer classify(&err, Database)
	return c.PrepareQuery(ctx, sql)
}

// ReceiveQuery receives the answer of the statement SendQuery sent on c
// as Query returns it: its columns, first batch and, when the result is
// not read to its end, the Result.
func ReceiveQuery(ctx context.Context, c *lakebase.Conn, b Batch) (first *FirstBatch, err error) {
	defer classify(&err, Database)
	f, err := batchFormat(b.Format)
	if err != nil {
		return nil, err
	}
	r, err := c.ReceiveQuery(ctx)
	if err != nil {
		return nil, err
	}
	return firstBatch(r, f, b)
}

// firstBatch reads r's first batch; r is closed when that is all of it.
func firstBatch(r *lakebase.Result, f lakebase.Format, b Batch) (first *FirstBatch, err error) {
	batch, err := r.NextBatch(f, b.MaxRows)
	if err != nil {
		r.Close()
		return nil, err
	}
	first = &FirstBatch{Columns: Columns(r), Batch: batch, Result: r}
	if r.Done() {
		if err := r.Close(); err != nil {
			return nil, err
		}
		first.Result = nil
	}
	first.CommandTag, first.RowsAffected = r.CommandTag(), r.RowsAffected()
	return first, nil
}

// CloseResult closes r, discarding rows not read; closing a result its
// connection discarded is fine.
func CloseResult(r *lakebase.Result) (err error) {
	defer classify(&err, Database)
	if err := r.Close(); !errors.Is(err, lakebase.ErrDiscarded) {
		return err
	}
	return nil
}

// OnSession runs step (begin, commit, rollback, cancel, autocommit, close)
// on c.
func OnSession(c *lakebase.Conn, step func(*lakebase.Conn) error) (err error) {
	defer classify(&err, Database)
	return step(c)
}

// SessionIdle tells whether c could serve another holder as it is
// (lakebase.Conn.Idle).
func SessionIdle(c *lakebase.Conn) bool { return c.Idle() }

// Discard ends c's session on the server instead of returning it to its
// pool (a session its holder no longer trusts); for a session of its own
// it is closing.
func Discard(c *lakebase.Conn) (err error) {
	defer classify(&err, Database)
	return c.Discard()
}

// batchFormat reads a batch format name; "" is the default.
func batchFormat(name string) (lakebase.Format, error) {
	f := lakebase.Format(name)
	if f == "" {
		f = lakebase.DefaultFormat
	}
	if f != lakebase.FormatColumnar && f != lakebase.FormatPickle {
		return "", &ArgumentError{Message: "format " + string(f) + ": want columnar or pickle"}
	}
	return f, nil
}
