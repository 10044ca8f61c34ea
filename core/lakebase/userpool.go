package lakebase

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/lakelink/lakelink/core/connstr"
	"github.com/lakelink/lakelink/core/internal/cache"
)

// This file holds Pool.AsUser: sessions of a Databricks App's users, each
// logged in as the user, so that the user's grants and row-level security
// apply.

// The defaults of a pool's App users (connection string properties
// MaxUsers, MaxUserConnections, UserIdleTime).
const (
	DefaultMaxUsers           = 50
	DefaultMaxUserConnections = 2
	DefaultUserIdleTime       = 10 * time.Minute
)

// UserPool is a Pool's sessions of one App user, the holder of one access
// token: see Pool.AsUser.
type UserPool struct {
	owner *Pool
	token string
}

// AsUser returns the sessions of the App user whose access token token is
// (the X-Forwarded-Access-Token of the user's request, apps.UserToken),
// without contacting any server. Their sessions log in as the user, with
// the user's own token as the password, so that the user's grants and
// row-level security apply.
//
// The first Acquire with a token verifies it with the workspace (SCIM Me,
// which needs the scope iam.current-user:read, one of the scopes every
// App user's token carries) to learn whose it is; the answer is kept
// until the token expires. The user's sessions form a pool of their own,
// of at most MaxUserConnections sessions, kept for the user, not the
// token: the user's next token uses them too, and new logins use the
// newest token seen. A session opened for one user never serves another.
// The pool keeps at most MaxUsers users' pools, closing the least
// recently used beyond that and any unused for UserIdleTime (logins under
// way and sessions in use finish first): the server sees at most
// MaxUsers*MaxUserConnections sessions of users, plus those in use when
// their user was evicted. Pool.Close closes them all. Errors never
// contain the token.
func (p *Pool) AsUser(token string) *UserPool { return &UserPool{owner: p, token: token} }

// Acquire takes a session of the user's pool, in autocommit mode.
func (u *UserPool) Acquire(ctx context.Context) (*Conn, error) {
	users := u.owner.users
	for try := 1; ; try++ {
		up, err := users.pool(ctx, u.token)
		if err != nil {
			return nil, err
		}
		if !up.enter() { // evicted since: the next try opens the user's pool again
			if try < 3 {
				continue
			}
			return nil, ErrPoolClosed
		}
		c, err := up.pool.Acquire(ctx)
		users.leave(up)
		if err != nil {
			return nil, users.error(err)
		}
		return c, nil
	}
}

// Query runs one statement on a session of the user's own, which returns
// to the user's pool when the result is closed.
func (u *UserPool) Query(ctx context.Context, sql string, args ...any) (*Result, error) {
	c, err := u.Acquire(ctx)
	if err != nil {
		return nil, err
	}
	c.owned = true
	r, err := c.Execute(ctx, sql, args...)
	if err != nil {
		c.Close()
	}
	return r, err
}

// error words err, a failure to take a session of a user's pool, for the
// user: a login refused with 28P01 is the user's token refused, and no
// free session within PoolTimeout is about MaxUserConnections.
func (u *users) error(err error) error {
	var e *Error
	var pgErr *pgconn.PgError
	switch {
	case !errors.As(err, &e):
	case errors.Is(err, ErrPoolTimeout):
		e.Message = fmt.Sprintf("%v within PoolTimeout (%s): all %d sessions of this user are in use (MaxUserConnections=%d): "+
			"close the user's connections sooner, or raise MaxUserConnections or PoolTimeout", ErrPoolTimeout, u.owner.timeout, u.maxConns, u.maxConns)
	case e.SQLState == "28P01" && errors.As(err, &pgErr):
		e.Message = "the user's access token was refused (the server said: " + pgErr.Message + "): " +
			"a user's token lasts as long as the user's sign-in to the app, and the newest one seen for this user was refused; " +
			"take the token from each request (X-Forwarded-Access-Token), and check that the user may connect to this database"
	}
	return err
}

// users is a Pool's App users: the tokens it has verified, and the users'
// pools. Its caches are bounded; the owner's Close closes them.
type users struct {
	owner    *Pool
	config   *Config
	opts     *connstr.Options // the owner's: its workspace verifies the tokens
	maxConns int32            // MaxUserConnections
	tokens   *tokenVerifier
	pools    *cache.Cache[string, *userPool] // by principal
	closed   atomic.Bool

	mu      sync.Mutex
	closing map[*userPool]bool // evicted pools whose sessions are still closing
}

// userPool is one App user's pool.
type userPool struct {
	pool *Pool
	cred *credential // mints the user's newest token

	mu           sync.Mutex // taken in cred's mint, under cred.mu: never the other way
	newest       string
	newestExpiry time.Time
	acquiring    int  // Acquire calls under way, which eviction lets finish
	evicted      bool // closed once no Acquire is under way
}

// newUsers readies the App users of owner, a pool connected with o.
func newUsers(c *Config, owner *Pool, o *connstr.Options) *users {
	opts := *o
	u := &users{owner: owner, config: c, opts: &opts, closing: map[*userPool]bool{},
		maxConns: int32(orDefault(o.MaxUserConnections, DefaultMaxUserConnections))}
	idle := orDefault(o.UserIdleTime, DefaultUserIdleTime)
	u.tokens = newTokenVerifier(c, &opts, max(maxVerifiedTokens, 2*orDefault(o.MaxUsers, DefaultMaxUsers)), idle)
	u.pools = cache.New(orDefault(o.MaxUsers, DefaultMaxUsers), idle, u.evict)
	return u
}

// pool returns the pool of the user whose token this is, opening it (no
// login yet) when the user has none, and makes token its password if it
// is the user's newest.
func (u *users) pool(ctx context.Context, token string) (*userPool, error) {
	if u == nil {
		return nil, errors.New("lakebase: AsUser needs a pool from Connect")
	}
	if u.closed.Load() {
		return nil, ErrPoolClosed
	}
	v, err := u.tokens.verify(ctx, token)
	if err != nil {
		return nil, err
	}
	up, err := u.pools.GetOrAdd(v.principal, func() (*userPool, error) { return u.open(v.principal, token, v.expiry) })
	if err != nil {
		return nil, err
	}
	up.offer(token, v.expiry)
	return up, nil
}

// open makes the pool of principal, whose token this is (see
// Pool.userPool), with a credential that gives each login the user's
// newest token.
func (u *users) open(principal, token string, expiry time.Time) (*userPool, error) {
	up := &userPool{newest: token, newestExpiry: expiry}
	up.cred = &credential{what: "the access token of App user " + principal, renewable: true, workspaceToken: true,
		mint: func(_ context.Context, refused string) (string, time.Time, error) {
			up.mu.Lock()
			defer up.mu.Unlock()
			if up.newest == refused {
				return "", time.Time{}, errors.New("the newest token seen for the user was refused")
			}
			return up.newest, up.newestExpiry, nil
		}}
	p, err := u.owner.userPool(principal, up.cred, u.maxConns)
	if err != nil {
		return nil, err
	}
	mode := sslMode(u.opts, p.conn.Host)
	if p.unverifiedToken = unverifiedToken(up.cred, mode); p.unverifiedToken {
		u.config.warnUnverifiedToken(p.host, mode)
	}
	up.pool = p
	return up, nil
}

// userPool returns a pool like p (its server, TLS, dialing, timeouts and
// session lifetimes, and its login rules: see login) that logs in as
// principal with cred, of at most maxConns sessions, none opened yet.
func (p *Pool) userPool(principal string, cred *credential, maxConns int32) (*Pool, error) {
	cfg := p.pool.Config() // a copy
	cfg.MaxConns, cfg.MinConns = maxConns, 0
	t := *p.target
	t.conn = cfg.ConnConfig
	t.conn.User, t.user, t.cred, t.id, t.userGiven = principal, principal, cred, nil, false
	cfg.BeforeConnect = t.beforeConnect
	up := &Pool{target: &t, timeout: p.timeout, closing: p.closing} // the owner's Close ends its waits
	var err error
	if up.pool, err = pgxpool.NewWithConfig(context.Background(), cfg); err != nil {
		return nil, up.wrap(err)
	}
	return up, nil
}

// offer makes token, verified to be the user's and to expire at expiry
// (zero: unknown), the password of the user's next logins, unless the
// user's newest token expires later.
func (up *userPool) offer(token string, expiry time.Time) {
	up.mu.Lock()
	newer := token != up.newest && (expiry.IsZero() || up.newestExpiry.IsZero() || !expiry.Before(up.newestExpiry))
	if newer {
		up.newest, up.newestExpiry = token, expiry
	}
	up.mu.Unlock()
	if newer {
		up.cred.forget()
	}
}

// forget drops the credential's password, so that the next login mints
// it anew (for a user's pool: takes the user's newest token).
func (c *credential) forget() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.password = ""
}

// enter counts an Acquire under way on up, unless up was evicted.
func (up *userPool) enter() bool {
	up.mu.Lock()
	defer up.mu.Unlock()
	if up.evicted {
		return false
	}
	up.acquiring++
	return true
}

// leave ends an Acquire that entered up, closing up if it was evicted
// meanwhile and this was the last one.
func (u *users) leave(up *userPool) {
	up.mu.Lock()
	up.acquiring--
	last := up.evicted && up.acquiring == 0
	up.mu.Unlock()
	if last {
		go u.closePool(up)
	}
}

// evict is the pools cache's: it closes an evicted user's pool once no
// Acquire is under way on it, without making the caller wait (sessions in
// use finish first), except when the owner is closing.
func (u *users) evict(_ string, up *userPool) {
	u.mu.Lock()
	u.closing[up] = true
	u.mu.Unlock()
	up.mu.Lock()
	up.evicted = true
	now := up.acquiring == 0
	up.mu.Unlock()
	switch {
	case !now: // the last Acquire under way closes it
	case u.closed.Load():
		u.closePool(up)
	default:
		go u.closePool(up)
	}
}

// closePool closes an evicted user's pool: its idle sessions now, those in
// use once returned; it returns once every session is closed, unless the
// owner is closing, which does not wait for sessions in use.
func (u *users) closePool(up *userPool) {
	if u.closed.Load() {
		up.pool.Close()
	} else {
		up.pool.closed.Store(true)
		up.pool.pool.Close()
	}
	u.mu.Lock()
	delete(u.closing, up)
	u.mu.Unlock()
}

// stats counts the users' pools and their sessions, those of evicted
// pools still closing included.
func (u *users) stats() (pools, sessions int) {
	if u == nil {
		return 0, 0
	}
	live := u.pools.Values()
	for _, up := range live {
		sessions += up.pool.Stats().Total
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	for up := range u.closing {
		sessions += up.pool.Stats().Total
	}
	return len(live), sessions
}

// close closes every user's pool and forgets the verified tokens.
func (u *users) close() {
	if u == nil || u.closed.Swap(true) {
		return
	}
	u.pools.Close()
	u.tokens.close()
}
