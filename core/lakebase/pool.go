package lakebase

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/lakelink/lakelink/core/connstr"
)

// The defaults of a pool's connection string properties. They keep
// sessions well under Lakebase's limits (a session idle for 24 hours is
// closed, and none lives longer than 3 days): an idle session is closed
// after MaxIdleTime, and every session is replaced after MaxLifetime
// (plus up to a tenth of it, so that sessions opened together are not
// replaced together), when idle: never during a statement or a
// transaction.
const (
	DefaultMaxConnections = 10
	DefaultMaxIdleTime    = 10 * time.Minute
	DefaultMaxLifetime    = time.Hour
	DefaultPoolTimeout    = 30 * time.Second
)

// ErrPoolTimeout is wrapped by the error of an Acquire that found no free
// session within PoolTimeout.
var ErrPoolTimeout = errors.New("no free session")

// ErrPoolClosed is returned by Acquire on a closed Pool.
var ErrPoolClosed = errors.New("lakebase: the pool is closed")

// Pool is a pool of Lakebase sessions, sized by its connection string
// (MinConnections, MaxConnections, MaxIdleTime, MaxLifetime, PoolTimeout).
// It is safe for concurrent use.
type Pool struct {
	*target
	pool    *pgxpool.Pool
	timeout time.Duration // PoolTimeout
	waiting atomic.Int32  // Acquire calls not yet served
	closed  atomic.Bool
	// closing is done once Close was called (for an App user's pool: once
	// its owner's was): it ends the Acquires waiting for a session, which
	// the pgxpool's Close does not wake. stopWaits cancels it (nil in a user's pool).
	closing   context.Context
	stopWaits context.CancelFunc
	users     *users // AsUser's App users (userpool.go); nil in a user's own pool
	lentMu    sync.Mutex
	lent      map[*Conn]struct{} // sessions running a Pipeline, of the pool's and its users' (pipeline.go)
}

// PoolStats counts a pool's sessions.
type PoolStats struct {
	Total    int // sessions open: idle, acquired, or logging in
	Idle     int
	Acquired int
	Waiting  int           // Acquire calls waiting for a session (or its login)
	Max      int           // MaxConnections
	Min      int           // MinConnections
	Timeout  time.Duration // PoolTimeout: how long Acquire waits for a free session
	// Users and UserSessions count AsUser's per-user pools and their
	// sessions (userpool.go fills them).
	Users        int
	UserSessions int
}

// connectPool is Connect with cfg, the pool configuration poolConfig made
// of o (which tests may have changed, to dial elsewhere).
func (c *Config) connectPool(ctx context.Context, o *connstr.Options, cfg *pgxpool.Config) (*Pool, error) {
	if cfg.MinConns > cfg.MaxConns {
		return nil, &connstr.Error{Key: "MinConnections",
			Msg: fmt.Sprintf("key \"MinConnections\": %d is more than MaxConnections (%d)", cfg.MinConns, cfg.MaxConns)}
	}
	t, err := c.newTarget(ctx, o, cfg.ConnConfig)
	if err != nil {
		return nil, err
	}
	p := &Pool{target: t, timeout: o.PoolTimeout, lent: map[*Conn]struct{}{}}
	p.closing, p.stopWaits = context.WithCancel(context.Background())
	if p.timeout == 0 {
		p.timeout = DefaultPoolTimeout
	}
	cfg.BeforeConnect = t.beforeConnect
	if p.pool, err = pgxpool.NewWithConfig(ctx, cfg); err != nil {
		return nil, p.wrap(err)
	}
	session, err := p.acquire(ctx)
	if err != nil {
		p.pool.Close()
		return nil, err
	}
	session.Release()
	p.users = newUsers(c, p, o)
	return p, nil
}

// sizePool applies the options' pool properties, or their defaults, to cfg.
func sizePool(cfg *pgxpool.Config, o *connstr.Options) {
	l := LimitsOf(o)
	cfg.MaxConns = int32(l.MaxConnections) // connstr bounds sizes to int32
	cfg.MinConns = int32(l.MinConnections)
	cfg.MaxConnIdleTime = l.MaxIdleTime
	cfg.MaxConnLifetime = l.MaxLifetime
	cfg.MaxConnLifetimeJitter = cfg.MaxConnLifetime / 10
	// The health check closes idle sessions past either limit (and opens
	// sessions up to MinConnections): often enough that neither is
	// overstepped by more than half of it, at most once a minute, and no
	// more than ten times a second.
	cfg.HealthCheckPeriod = max(100*time.Millisecond, min(time.Minute, cfg.MaxConnIdleTime/2, cfg.MaxConnLifetime/2))
}

// PoolLimits are the bounds of a pool of sessions that a connection
// string gives (MaxConnections, MinConnections, MaxIdleTime, MaxLifetime),
// defaults applied: what lakelink's pools follow, and package stdlib's
// *sql.DB.
type PoolLimits struct {
	MaxConnections, MinConnections int
	MaxIdleTime, MaxLifetime       time.Duration
}

// LimitsOf returns the options' pool bounds, defaults applied.
func LimitsOf(o *connstr.Options) PoolLimits {
	return PoolLimits{MaxConnections: orDefault(o.MaxConnections, DefaultMaxConnections), MinConnections: o.MinConnections,
		MaxIdleTime: orDefault(o.MaxIdleTime, DefaultMaxIdleTime), MaxLifetime: orDefault(o.MaxLifetime, DefaultMaxLifetime)}
}

// orDefault is v, or def when v is zero (not given).
func orDefault[T int | time.Duration](v, def T) T {
	if v == 0 {
		return def
	}
	return v
}

// User is the Postgres user the pool logs in as.
func (p *Pool) User() string { return p.user }

// Acquire takes a session from the pool, in autocommit mode, waiting at
// most PoolTimeout for a free one. Close returns it to the pool (which
// replaces it instead if a statement or transaction was left unfinished,
// or it outlived MaxLifetime).
func (p *Pool) Acquire(ctx context.Context) (*Conn, error) {
	c, err := p.acquire(ctx)
	if err != nil {
		return nil, err
	}
	return newConn(p.target, c.Conn(), func(discard bool) {
		if discard {
			// Out of the pool at once, Discard having closed it (Release
			// would destroy a closed session too, but in a goroutine: the
			// pool would count it until that ran).
			c.Hijack()
			return
		}
		c.Release()
	}), nil
}

// Query runs one statement on a session of its own, which returns to the
// pool when the result is closed.
func (p *Pool) Query(ctx context.Context, sql string, args ...any) (*Result, error) {
	return queryOwned(ctx, p.Acquire, sql, args)
}

// queryOwned runs one statement on a session that acquire takes, which is
// given back when the result is closed (or at once if it fails).
func queryOwned(ctx context.Context, acquire func(context.Context) (*Conn, error), sql string, args []any) (*Result, error) {
	c, err := acquire(ctx)
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

// acquire takes a session of the pool (see login for a refused login),
// waiting at most PoolTimeout.
func (p *Pool) acquire(ctx context.Context) (*pgxpool.Conn, error) {
	if p.isClosed() {
		return nil, ErrPoolClosed
	}
	p.waiting.Add(1)
	defer p.waiting.Add(-1)
	wait, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	defer context.AfterFunc(p.closing, cancel)()
	c, err := login(wait, p.target, p.pool.Acquire)
	switch {
	case err == nil:
		return c, nil
	case p.isClosed():
		return nil, ErrPoolClosed
	case wait.Err() != nil && ctx.Err() == nil:
		if s := p.pool.Stat(); s.AcquiredConns() >= s.MaxConns() {
			return nil, p.wrap(fmt.Errorf("%w within PoolTimeout (%s): all %d sessions of the pool are in use "+
				"(MaxConnections=%d): close connections sooner, or raise MaxConnections or PoolTimeout",
				ErrPoolTimeout, p.timeout, s.MaxConns(), s.MaxConns()))
		}
	}
	return nil, err
}

// isClosed tells whether the pool, or its owner, was closed.
func (p *Pool) isClosed() bool { return p.closed.Load() || p.closing.Err() != nil }

// Stats counts the pool's sessions now.
func (p *Pool) Stats() PoolStats {
	s := p.pool.Stat()
	stats := PoolStats{Total: int(s.TotalConns()), Idle: int(s.IdleConns()), Acquired: int(s.AcquiredConns()),
		Waiting: int(p.waiting.Load()), Max: int(s.MaxConns()), Min: int(p.pool.Config().MinConns), Timeout: p.timeout}
	stats.Users, stats.UserSessions = p.users.stats()
	return stats
}

// Close closes the pool: its idle sessions now, those acquired when they
// are returned (Close does not wait for them). Acquire then fails with
// ErrPoolClosed, at once for those waiting for a session, of the pool and
// of its App users' pools. The statements of Pipeline calls running are
// cancelled (Close waits for the server's answer to that: a process
// closing its pools as it exits leaves none running). Closing twice is
// harmless.
func (p *Pool) Close() {
	if p.closed.Swap(true) {
		return
	}
	if p.stopWaits != nil { // nil in a user's pool: its owner's ends its waits
		p.stopWaits()
	}
	p.cancelLent()
	p.users.close()
	closed := make(chan struct{})
	go func() {
		p.pool.Close() // returns once every session is closed, acquired ones included
		close(closed)
	}()
	if p.pool.Stat().AcquiredConns() == 0 {
		<-closed
	}
}
