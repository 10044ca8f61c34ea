package emulator

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// cluster is a throwaway PostgreSQL cluster: initdb in a temporary
// directory, a postmaster on its own port and socket directory, everything
// removed by stop.
type cluster struct {
	dir      string
	port     int
	password string
	binDir   string
	cred     *runAs // whom the server runs as; nil for ourselves
	log      *syncBuffer

	mu     sync.Mutex // held by restart and stop
	cmd    *exec.Cmd
	exited chan struct{}
}

const clusterAdmin = "lakelink_admin"

// findPostgresBinDir finds the directory holding initdb and postgres: on
// PATH, else Debian's /usr/lib/postgresql/<version>/bin (newest first).
func findPostgresBinDir() (string, error) {
	if p, err := exec.LookPath("initdb"); err == nil {
		if resolved, err := filepath.EvalSymlinks(p); err == nil {
			p = resolved
		}
		return filepath.Dir(p), nil
	}
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	sort.Slice(matches, func(i, j int) bool { return versionOf(matches[i]) > versionOf(matches[j]) })
	if len(matches) > 0 {
		return filepath.Dir(matches[0]), nil
	}
	return "", errors.New("PostgreSQL server binaries not found (no initdb on PATH or in /usr/lib/postgresql/*/bin): " +
		"install them (Debian: apt-get install postgresql) or pass --postgres-url of a running server")
}

func versionOf(initdbPath string) float64 {
	v, _ := strconv.ParseFloat(filepath.Base(filepath.Dir(filepath.Dir(initdbPath))), 64)
	return v
}

// startCluster initialises and starts a cluster. As root, it runs the server
// as the postgres user (or nobody), since PostgreSQL refuses to run as root.
func startCluster(ctx context.Context, log *slog.Logger) (_ *cluster, err error) {
	binDir, err := findPostgresBinDir()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "lakelink-pg-*")
	if err != nil {
		return nil, err
	}
	c := &cluster{dir: dir, password: randomHex(16), binDir: binDir, log: &syncBuffer{}, exited: make(chan struct{})}
	defer func() {
		if err != nil {
			c.stop()
		}
	}()
	cred, err := unprivilegedCredential()
	if err != nil {
		return nil, err
	}
	c.cred = cred
	pwfile := filepath.Join(dir, "pwfile")
	if err := os.WriteFile(pwfile, []byte(c.password+"\n"), 0o600); err != nil {
		return nil, err
	}
	if err := os.Mkdir(filepath.Join(dir, "sock"), 0o700); err != nil {
		return nil, err
	}
	if cred != nil {
		if err := chownTree(dir, int(cred.Uid), int(cred.Gid)); err != nil {
			return nil, err
		}
	}
	initdb := exec.CommandContext(ctx, filepath.Join(binDir, "initdb"), "-D", filepath.Join(dir, "data"),
		"-U", clusterAdmin, "--pwfile", pwfile, "--auth-local=trust", "--auth-host=scram-sha-256",
		"-E", "UTF8", "--locale=C", "--no-sync")
	initdb.SysProcAttr = procAttr(cred, false)
	if out, err := initdb.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("initdb: %w\n%s", err, out)
	}
	os.Remove(pwfile)

	// Another process may take the port between our probe and the
	// postmaster's bind; then try another.
	for attempt := 0; ; attempt++ {
		if c.port, err = freePort(); err != nil {
			return nil, err
		}
		err = c.startPostmaster(ctx)
		if err == nil || attempt == 2 || !strings.Contains(c.log.String(), "could not bind") {
			break
		}
	}
	if err != nil {
		return nil, err
	}
	log.Info("postgres cluster started", "dir", dir, "port", c.port)
	return c, nil
}

func (c *cluster) startPostmaster(ctx context.Context) error {
	c.log.Reset()
	c.exited = make(chan struct{})
	c.cmd = exec.Command(filepath.Join(c.binDir, "postgres"), "-D", filepath.Join(c.dir, "data"),
		"-p", strconv.Itoa(c.port), "-k", filepath.Join(c.dir, "sock"),
		"-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "synchronous_commit=off",
		"-c", "full_page_writes=off", "-c", "max_connections=200", "-c", "shared_buffers=64MB")
	c.cmd.Stdout, c.cmd.Stderr = c.log, c.log
	c.cmd.SysProcAttr = procAttr(c.cred, true)
	if err := c.cmd.Start(); err != nil {
		return fmt.Errorf("starting postgres: %w", err)
	}
	exited := c.exited
	go func() { c.cmd.Wait(); close(exited) }()

	deadline := time.Now().Add(30 * time.Second)
	for {
		conn, err := pgx.Connect(ctx, c.url("postgres"))
		if err == nil {
			conn.Close(ctx)
			return nil
		}
		select {
		case <-exited:
			return fmt.Errorf("postgres exited during start-up:\n%s", c.log.String())
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("postgres did not accept connections within 30s: %v\n%s", err, c.log.String())
		}
	}
}

// url is the administrator's connection URL for database db.
func (c *cluster) url(db string) string {
	u := url.URL{Scheme: "postgres", User: url.UserPassword(clusterAdmin, c.password),
		Host: net.JoinHostPort("127.0.0.1", strconv.Itoa(c.port)), Path: "/" + db, RawQuery: "sslmode=disable"}
	return u.String()
}

// restart shuts the server down and starts it again on the same port.
func (c *cluster) restart(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.shutdown()
	return c.startPostmaster(ctx)
}

// stop shuts the server down and removes the cluster's directory.
func (c *cluster) stop() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.shutdown()
	return os.RemoveAll(c.dir)
}

// shutdown stops the server: a fast shutdown, then a kill after 10 s.
func (c *cluster) shutdown() {
	if c.cmd != nil && c.cmd.Process != nil {
		c.cmd.Process.Signal(syscall.SIGINT)
		select {
		case <-c.exited:
		case <-time.After(10 * time.Second):
			c.cmd.Process.Kill()
			<-c.exited
		}
	}
}

// unprivilegedCredential returns nil when not root, else the credential of
// the postgres user, or of nobody when there is none.
func unprivilegedCredential() (*runAs, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	for _, name := range []string{"postgres", "nobody"} {
		u, err := user.Lookup(name)
		if err != nil {
			continue
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		return &runAs{Uid: uint32(uid), Gid: uint32(gid)}, nil
	}
	return nil, errors.New("running as root and neither a postgres nor a nobody user exists to run PostgreSQL as")
}

func chownTree(root string, uid, gid int) error {
	return filepath.WalkDir(root, func(path string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(path, uid, gid)
	})
}

// freePort asks the kernel for a free loopback port.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// syncBuffer collects a child's output for error messages.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.buf.Len() > 64<<10 { // keep the start-up story, not a day of logs
		return len(p), nil
	}
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (b *syncBuffer) Reset() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.Reset()
}
