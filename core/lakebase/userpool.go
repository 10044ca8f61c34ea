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
// token: see Pool.AsUser. Printing it (any verb) never shows the token.
type UserPool struct {
	owner *Pool
	token string
}

// Format prints the UserPool without its token, whatever the verb.
func (UserPool) Format(f fmt.State, _ rune) { fmt.Fprint(f, "lakebase.UserPool{token: ***}") }

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
//
// The pool keeps at most MaxUsers users' pools, evicting the least
// recently used beyond that, and any unused for UserIdleTime: a user with
// a session in use (a long stream or transaction) is in use, and giving a
// session back is a use. An evicted user's idle sessions close at once,
// those in use when given back; Stats counts them until then. So the
// server sees at most MaxUsers*MaxUserConnections sessions of users, plus
// those in use when their user was evicted beyond MaxUsers. Pool.Close
// closes the users' idle sessions at once and each session in use when it
// is given back (Conn.Close or Discard); a Conn never closed keeps its
// session, and Stats counts it. Errors never contain the token.
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
		users.leave(up, err == nil)
		if err != nil {
			return nil, users.error(err)
		}
		back := c.giveBack
		c.giveBack = func(discard bool) {
			back(discard)
			users.giveBack(up)
		}
		return c, nil
	}
}

// Query runs one statement on a session of the user's own, which returns
// to the user's pool when the result is closed.
func (u *UserPool) Query(ctx context.Context, sql string, args ...any) (*Result, error) {
	return queryOwned(ctx, u.Acquire, sql, args)
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
	principal string
	pool      *Pool
	cred      *credential // mints the user's newest token

	mu           sync.Mutex // taken in cred's mint, under cred.mu, and under the pools cache's lock: never the other way
	newest       string
	newestExpiry time.Time
	acquiring    int  // Acquire calls under way, which eviction lets finish
	inUse        int  // sessions taken and not yet given back
	evicted      bool // out of the cache: closed once nothing is under way or in use
	reset        bool // evicted with sessions in use: its idle sessions closed, the others to close when given back
	closed       bool // closing or closed
}

// newUsers readies the App users of owner, a pool connected with o.
func newUsers(c *Config, owner *Pool, o *connstr.Options) *users {
	opts := *o
	u := &users{owner: owner, config: c, opts: &opts, closing: map[*userPool]bool{},
		maxConns: int32(orDefault(o.MaxUserConnections, DefaultMaxUserConnections))} // connstr bounds sizes to int32
	idle := orDefault(o.UserIdleTime, DefaultUserIdleTime)
	u.tokens = newTokenVerifier(c, &opts, max(maxVerifiedTokens, 2*orDefault(o.MaxUsers, DefaultMaxUsers)), idle)
	u.pools = cache.New(orDefault(o.MaxUsers, DefaultMaxUsers), idle, u.evict)
	u.pools.InUse((*userPool).busy)
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
	up := &userPool{principal: principal, newest: token, newestExpiry: expiry}
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

// busy reports whether an Acquire is under way on up or a session of it
// in use: the pools cache's InUse, so that such a user is not idle.
func (up *userPool) busy() bool {
	up.mu.Lock()
	defer up.mu.Unlock()
	return up.acquiring > 0 || up.inUse > 0
}

// leave ends an Acquire that entered up, which took a session if took.
func (u *users) leave(up *userPool, took bool) {
	up.mu.Lock()
	up.acquiring--
	if took {
		up.inUse++
	}
	up.mu.Unlock()
	u.settle(up, false)
}

// giveBack counts a session of up given back, a use of the user's pool.
func (u *users) giveBack(up *userPool) {
	up.mu.Lock()
	up.inUse--
	evicted := up.evicted
	up.mu.Unlock()
	if !evicted {
		u.pools.Get(up.principal) // marks the user used
		return
	}
	u.settle(up, true)
}

// evict is the pools cache's: the user's pool goes, its idle sessions at
// once, those in use when given back (see settle).
func (u *users) evict(_ string, up *userPool) {
	u.mu.Lock()
	u.closing[up] = true
	u.mu.Unlock()
	up.mu.Lock()
	up.evicted = true
	up.mu.Unlock()
	u.settle(up, u.closed.Load())
}

// settle moves up, once evicted, towards closed: closed once no Acquire is
// under way on it and no session of it is in use, its idle sessions
// closed meanwhile (each session in use closes when given back). wait:
// the caller waits for the closing (the owner's Close, or the giving back
// of the last session in use); otherwise a goroutine closes it, which ends
// once its idle sessions are closed, since none is in use.
func (u *users) settle(up *userPool, wait bool) {
	up.mu.Lock()
	pending := !up.evicted || up.closed
	closeNow := !pending && up.acquiring == 0 && up.inUse == 0
	reset := !pending && !closeNow && !up.reset
	up.closed = up.closed || closeNow
	up.reset = up.reset || reset
	up.mu.Unlock()
	switch {
	case reset:
		up.pool.pool.Reset() // idle sessions close now, those in use when given back
	case closeNow && wait:
		u.closePool(up)
	case closeNow:
		go u.closePool(up)
	}
}

// closePool closes an evicted user's pool, none of whose sessions is in
// use, and stops counting it.
func (u *users) closePool(up *userPool) {
	up.pool.closed.Store(true)
	up.pool.pool.Close()
	u.mu.Lock()
	delete(u.closing, up)
	u.mu.Unlock()
}

// stats counts the users' pools and their sessions, those of evicted
// pools not yet closed (sessions in use) included.
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
