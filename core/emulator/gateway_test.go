package emulator

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"
)

// pgConnect opens a pgx connection to e's gateway as user with password;
// extra holds more key=value settings (sslmode at least).
func pgConnect(e *Emulator, user, password, extra string) (*pgx.Conn, error) {
	lb := e.Info().Lakebase
	dsn := fmt.Sprintf("host=%s port=%d dbname=%s user='%s' password='%s' connect_timeout=10 %s",
		lb.Host, lb.Port, lb.Database, user, password, extra)
	return pgx.Connect(context.Background(), dsn)
}

// pgLogin connects, checks the session runs as user, and closes.
func pgLogin(t *testing.T, e *Emulator, user, password, extra string) {
	t.Helper()
	conn, err := pgConnect(e, user, password, extra)
	if err != nil {
		t.Fatalf("login as %s: %v", user, err)
	}
	defer conn.Close(context.Background())
	var current string
	if err := conn.QueryRow(context.Background(), "SELECT current_user").Scan(&current); err != nil {
		t.Fatal(err)
	}
	if current != user {
		t.Errorf("current_user = %q, want %q", current, user)
	}
}

// wantLoginError fails unless connecting fails with SQLSTATE code and a
// message holding every one of substrings.
func wantLoginError(t *testing.T, e *Emulator, user, password, extra, code string, substrings ...string) {
	t.Helper()
	conn, err := pgConnect(e, user, password, extra)
	if err == nil {
		conn.Close(context.Background())
		t.Fatalf("login as %s succeeded, want SQLSTATE %s", user, code)
	}
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != code {
		t.Fatalf("login error %v, want SQLSTATE %s", err, code)
	}
	for _, s := range substrings {
		if !strings.Contains(pgErr.Message, s) {
			t.Errorf("message %q does not mention %q", pgErr.Message, s)
		}
	}
}

// credential mints a Lakebase Provisioned credential over REST.
func credential(t *testing.T, e *Emulator, accessToken string) string {
	t.Helper()
	r := do(t, "POST", e.Info().WorkspaceURL+"/api/2.0/database/credentials", accessToken,
		strings.NewReader(`{"instance_names": ["`+e.Info().Lakebase.Instance+`"], "request_id": "r1"}`))
	wantStatus(t, r, 200)
	return r.body["token"].(string)
}

// userToken signs a user access token directly, as the authorize flow would.
func userToken(t *testing.T, e *Emulator, scope string) string {
	t.Helper()
	now := time.Now()
	tok, err := e.signer.sign(&Claims{Issuer: e.Info().WorkspaceURL + "/oidc", Subject: e.dir.user.Name, ClientID: "databricks-cli",
		Scope: scope, Kind: kindUser, IssuedAt: now.Unix(), Expiry: now.Add(time.Hour).Unix(), ID: randomID(8)})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestGatewayAcceptsCredentialsAndTokens(t *testing.T) {
	info := shared.Info()
	sp := info.ServicePrincipal.ClientID
	access := m2mToken(t, shared, info.ServicePrincipal, "all-apis")
	before := shared.stats.snapshot().GatewayLogins.Accepted

	t.Run("provisioned credential", func(t *testing.T) {
		pgLogin(t, shared, sp, credential(t, shared, access), "sslmode=require")
	})
	t.Run("autoscaling credential, verify-full", func(t *testing.T) {
		r := do(t, "POST", info.WorkspaceURL+"/api/2.0/postgres/credentials", access,
			strings.NewReader(`{"endpoint": "`+info.Lakebase.Endpoint+`"}`))
		wantStatus(t, r, 200)
		pgLogin(t, shared, sp, r.body["token"].(string), "sslmode=verify-full sslrootcert="+info.Lakebase.CAFile)
	})
	t.Run("workspace access token", func(t *testing.T) {
		pgLogin(t, shared, sp, access, "sslmode=require")
	})
	t.Run("user credential, role with an @", func(t *testing.T) {
		pgLogin(t, shared, info.User.Email, credential(t, shared, userToken(t, shared, "all-apis")), "sslmode=require")
	})
	if got := shared.stats.snapshot().GatewayLogins.Accepted - before; got != 4 {
		t.Errorf("accepted logins: %d, want 4", got)
	}
}

func TestGatewaySessionIsARealPostgresSession(t *testing.T) {
	info := shared.Info()
	sp := info.ServicePrincipal.ClientID
	password := credential(t, shared, m2mToken(t, shared, info.ServicePrincipal, "all-apis"))
	conn, err := pgConnect(shared, sp, password, "sslmode=require application_name=gateway-test")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	ctx := context.Background()
	var app, db string
	if err := conn.QueryRow(ctx, "SELECT current_setting('application_name'), current_database()").Scan(&app, &db); err != nil {
		t.Fatal(err)
	}
	if app != "gateway-test" || db != "databricks_postgres" {
		t.Errorf("application_name %q, database %q", app, db)
	}
	// The role may create in the default database's public schema.
	if _, err := conn.Exec(ctx, "CREATE TEMP TABLE t (n int); CREATE TABLE IF NOT EXISTS gateway_test (n int)"); err != nil {
		t.Fatal(err)
	}
	var sum int
	if err := conn.QueryRow(ctx, "SELECT sum(n) FROM generate_series(1, $1::int) AS n", 100).Scan(&sum); err != nil || sum != 5050 {
		t.Fatalf("sum = %d, %v", sum, err)
	}
	wantCancel(t, conn)
}

// wantCancel checks that a cancel request reaches the backend through the
// gateway and ends a long query promptly.
func wantCancel(t *testing.T, conn *pgx.Conn) {
	t.Helper()
	ctx := context.Background()
	done := make(chan error, 1)
	start := time.Now()
	go func() {
		_, err := conn.Exec(ctx, "SELECT pg_sleep(10)")
		done <- err
	}()
	time.Sleep(300 * time.Millisecond)
	if err := conn.PgConn().CancelRequest(ctx); err != nil {
		t.Fatal(err)
	}
	err := <-done
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "57014" || time.Since(start) > 5*time.Second {
		t.Fatalf("cancelled query: %v after %v, want SQLSTATE 57014 (query_canceled) promptly", err, time.Since(start))
	}
}

func TestGatewayRefusals(t *testing.T) {
	info := shared.Info()
	sp := info.ServicePrincipal.ClientID
	access := m2mToken(t, shared, info.ServicePrincipal, "all-apis")
	password := credential(t, shared, access)
	before := shared.stats.snapshot().GatewayLogins.Refused

	wantLoginError(t, shared, sp, password, "sslmode=disable", "28000", "TLS required")
	wantLoginError(t, shared, "someone@example.com", password, "sslmode=require", "28P01",
		"user someone@example.com is not the token's principal ("+sp+")")
	wantLoginError(t, shared, sp, password[:len(password)-4]+"AAAA", "sslmode=require", "28P01", "bad signature")
	wantLoginError(t, shared, sp, "hunter2", "sslmode=require", "28P01", "not a Databricks OAuth token")
	outsider := m2mToken(t, shared, info.Outsider, "all-apis")
	wantLoginError(t, shared, info.Outsider.ClientID, outsider, "sslmode=require", "28P01", "may not connect")

	now := time.Now()
	elsewhere, _ := shared.signer.sign(&Claims{Subject: sp, Audience: "lakebase", Kind: kindServicePrincipal,
		Target: "instance/another", IssuedAt: now.Unix(), Expiry: now.Add(time.Hour).Unix()})
	wantLoginError(t, shared, sp, elsewhere, "sslmode=require", "28P01", "minted for instance/another")

	if got := shared.stats.snapshot().GatewayLogins.Refused - before; got != 5 {
		t.Errorf("refused logins: %d, want 5 (the no-TLS attempt is refused before login)", got)
	}
}

// TestGatewayChecksExpiryAtLoginOnly: as on Lakebase, a session opened with
// a credential outlives it; a new login with it is refused.
func TestGatewayChecksExpiryAtLoginOnly(t *testing.T) {
	e := startEmulator(t, Config{TokenTTL: 2 * time.Second})
	sp := e.Info().ServicePrincipal
	password := credential(t, e, m2mToken(t, e, sp, "all-apis"))
	conn, err := pgConnect(e, sp.ClientID, password, "sslmode=require")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	time.Sleep(2500 * time.Millisecond)
	var one int
	if err := conn.QueryRow(context.Background(), "SELECT 1").Scan(&one); err != nil {
		t.Fatalf("a session opened before expiry fails after it: %v", err)
	}
	wantLoginError(t, e, sp.ClientID, password, "sslmode=require", "28P01", "expired at")
}

// TestGatewayWithPsql logs in with the real psql client, as users do.
func TestGatewayWithPsql(t *testing.T) {
	psql, err := exec.LookPath("psql")
	if err != nil {
		t.Fatal("psql is not installed: `make test` installs PostgreSQL with its client")
	}
	info := shared.Info()
	password := credential(t, shared, m2mToken(t, shared, info.ServicePrincipal, "all-apis"))
	cmd := exec.Command(psql, "-X", "-A", "-t", "-c", "SELECT current_user",
		fmt.Sprintf("host=%s port=%d dbname=%s user=%s sslmode=verify-full sslrootcert=%s",
			info.Lakebase.Host, info.Lakebase.Port, info.Lakebase.Database, info.ServicePrincipal.ClientID, info.Lakebase.CAFile))
	cmd.Env = append(cmd.Environ(), "PGPASSWORD="+password)
	out, err := cmd.CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != info.ServicePrincipal.ClientID {
		t.Fatalf("psql: %v: %s", err, out)
	}
}

// TestGatewaySurvivesGarbage sends what is not PostgreSQL; the gateway
// answers or hangs up, and keeps serving.
func TestGatewaySurvivesGarbage(t *testing.T) {
	lb := shared.Info().Lakebase
	for _, garbage := range []string{"GET / HTTP/1.1\r\n\r\n", "\x00\x00\x00\x08\x04\xd2\x16\x2fthis is no TLS handshake", "\x00\x00\x00\x02", "\x16\x03\x01\x00\x05hello"} {
		conn, err := net.DialTimeout("tcp", net.JoinHostPort(lb.Host, strconv.Itoa(lb.Port)), 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		conn.SetDeadline(time.Now().Add(5 * time.Second))
		conn.Write([]byte(garbage))
		// EOF or a reset are both hanging up; only a timeout is not.
		var netErr net.Error
		if _, err := io.ReadAll(conn); errors.As(err, &netErr) && netErr.Timeout() {
			t.Errorf("after %q the gateway neither answered nor hung up", garbage)
		}
		conn.Close()
	}
	sp := shared.Info().ServicePrincipal
	pgLogin(t, shared, sp.ClientID, m2mToken(t, shared, sp, "all-apis"), "sslmode=require")
}

// TestGatewayUnixSocketBackend proxies to a backend reached by its unix
// socket, cancel requests included.
func TestGatewayUnixSocketBackend(t *testing.T) {
	c := shared.cluster
	e := startEmulator(t, Config{PostgresURL: fmt.Sprintf("host=%s port=%d user=%s dbname=postgres",
		filepath.Join(c.dir, "sock"), c.port, clusterAdmin)})
	sp := e.Info().ServicePrincipal
	conn, err := pgConnect(e, sp.ClientID, credential(t, e, m2mToken(t, e, sp, "all-apis")), "sslmode=require")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	wantCancel(t, conn)
}

// TestGatewayUserNameLooksLikeAToken: a token given as the user name is
// neither echoed nor logged.
func TestGatewayUserNameLooksLikeAToken(t *testing.T) {
	log := &syncBuffer{}
	e := startEmulator(t, Config{Logger: slog.New(slog.NewTextHandler(log, nil))})
	token := m2mToken(t, e, e.Info().ServicePrincipal, "all-apis")
	wantLoginError(t, e, token, token, "sslmode=require", "28000", "the user name looks like a token: put the token in the password")
	conn, err := pgConnect(e, token, token, "sslmode=require")
	if err == nil {
		conn.Close(context.Background())
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && strings.Contains(pgErr.Message, token[:40]) {
		t.Errorf("the refusal echoes the token: %s", pgErr.Message)
	}
	if strings.Contains(log.String(), token[:40]) {
		t.Errorf("the log holds the token:\n%s", log.String())
	}
}

// TestGatewayNegotiatesProtocolVersion: like PostgreSQL, the gateway answers
// a newer minor version or unknown protocol options with
// NegotiateProtocolVersion before authenticating; the session speaks 3.0.
func TestGatewayNegotiatesProtocolVersion(t *testing.T) {
	info := shared.Info()
	sp := info.ServicePrincipal.ClientID
	password := credential(t, shared, m2mToken(t, shared, info.ServicePrincipal, "all-apis"))

	raw, err := net.DialTimeout("tcp", net.JoinHostPort(info.Lakebase.Host, strconv.Itoa(info.Lakebase.Port)), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	raw.SetDeadline(time.Now().Add(10 * time.Second))
	sslRequest, _ := (&pgproto3.SSLRequest{}).Encode(nil)
	answer := make([]byte, 1)
	if _, err := raw.Write(sslRequest); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(raw, answer); err != nil || answer[0] != 'S' {
		t.Fatalf("SSLRequest answered %q, %v", answer, err)
	}
	ca, err := os.ReadFile(info.Lakebase.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(ca)
	conn := tls.Client(raw, &tls.Config{RootCAs: roots, ServerName: info.Lakebase.Host})
	fe := pgproto3.NewFrontend(conn, conn)
	fe.Send(&pgproto3.StartupMessage{ProtocolVersion: pgproto3.ProtocolVersion32,
		Parameters: map[string]string{"user": sp, "database": info.Lakebase.Database, "_pq_.lakelink_test": "on"}})
	if err := fe.Flush(); err != nil {
		t.Fatal(err)
	}
	msg, err := fe.Receive()
	if npv, ok := msg.(*pgproto3.NegotiateProtocolVersion); err != nil || !ok || npv.NewestMinorProtocol != 0 ||
		!slices.Equal(npv.UnrecognizedOptions, []string{"_pq_.lakelink_test"}) {
		t.Fatalf("first answer to a 3.2 startup: %#v, %v; want NegotiateProtocolVersion 3.0 naming the option", msg, err)
	}
	if msg, err := fe.Receive(); err != nil || reflect.TypeOf(msg) != reflect.TypeOf(&pgproto3.AuthenticationCleartextPassword{}) {
		t.Fatalf("then: %#v, %v; want the password request", msg, err)
	}

	// pgx asking for 3.2 settles for 3.0, and cancelling works.
	pgxConn, err := pgConnect(shared, sp, password, "sslmode=require max_protocol_version=3.2")
	if err != nil {
		t.Fatal(err)
	}
	defer pgxConn.Close(context.Background())
	wantCancel(t, pgxConn)
	// pgx requiring 3.2 learns that the gateway does not speak it.
	if c, err := pgConnect(shared, sp, password, "sslmode=require min_protocol_version=3.2"); err == nil {
		c.Close(context.Background())
		t.Error("pgx requiring protocol 3.2 connected")
	} else if !strings.Contains(err.Error(), "protocol version") {
		t.Errorf("pgx requiring protocol 3.2: %v, want a protocol version error", err)
	}
}

// TestGatewayLeavesForeignRolesAlone: a role the emulator did not create,
// or a superuser, is refused and left unchanged.
func TestGatewayLeavesForeignRolesAlone(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct{ email, options, comment, want string }{
		{"foreign.role@example.com", "LOGIN", "", "was not created by the lakelink emulator"},
		{"super.role@example.com", "SUPERUSER LOGIN", roleMark, "is a superuser"},
	} {
		t.Run(tc.email, func(t *testing.T) {
			role := pgx.Identifier{tc.email}.Sanitize()
			setup := fmt.Sprintf("DROP ROLE IF EXISTS %s; CREATE ROLE %s %s PASSWORD 'theirs'", role, role, tc.options)
			if tc.comment != "" {
				setup += fmt.Sprintf("; COMMENT ON ROLE %s IS '%s'", role, tc.comment)
			}
			if _, err := shared.admin.Exec(ctx, setup); err != nil {
				t.Fatal(err)
			}
			password := func() string {
				var p string
				if err := shared.admin.QueryRow(ctx, "SELECT rolpassword FROM pg_authid WHERE rolname = $1", tc.email).Scan(&p); err != nil {
					t.Fatal(err)
				}
				return p
			}
			before := password()
			e := startEmulator(t, Config{UserEmail: tc.email})
			wantLoginError(t, e, tc.email, credential(t, e, userToken(t, e, "all-apis")), "sslmode=require", "28000", tc.want)
			if password() != before {
				t.Error("the emulator changed the role's password")
			}
		})
	}
}

// TestGatewaySharedBackendPasswords: emulators reaching one backend through
// differently spelled URLs derive different role passwords; each resets
// the password when the backend refuses it, so both keep working.
func TestGatewaySharedBackendPasswords(t *testing.T) {
	const email = "two.emulators@example.com"
	backend := shared.Info().Lakebase.PostgresURL
	a := startEmulator(t, Config{UserEmail: email, PostgresURL: backend})
	b := startEmulator(t, Config{UserEmail: email, PostgresURL: backend + "&application_name=another-spelling"})
	if a.rolePassword(email) == b.rolePassword(email) {
		t.Fatal("the two URLs give the same role password: the test tests nothing")
	}
	for _, e := range []*Emulator{a, b, a, b} {
		pgLogin(t, e, email, credential(t, e, userToken(t, e, "all-apis")), "sslmode=require")
	}
}

// flakyListener fails its first Accept.
type flakyListener struct {
	net.Listener
	accepts atomic.Int32
}

func (l *flakyListener) Accept() (net.Conn, error) {
	if l.accepts.Add(1) == 1 {
		return nil, errors.New("accept: too many open files")
	}
	return l.Listener.Accept()
}

// TestGatewayAcceptErrors: an Accept error other than a closed listener
// does not stop the gateway.
func TestGatewayAcceptErrors(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g := newGateway(shared, &flakyListener{Listener: ln})
	g.start()
	defer g.close()
	conn, err := net.DialTimeout("tcp", ln.Addr().String(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	startup, _ := (&pgproto3.StartupMessage{ProtocolVersion: pgproto3.ProtocolVersion30, Parameters: map[string]string{"user": "u"}}).Encode(nil)
	conn.Write(startup)
	if answer, _ := io.ReadAll(conn); !strings.Contains(string(answer), tlsRequired) {
		t.Errorf("after a failed Accept the gateway answered %q, want its TLS refusal", answer)
	}
}

// TestGatewayServesALakebaseName: the gateway's certificate is valid for a
// Lakebase-like host name (lakebase.server_name in emulator.json), so that
// clients check verify-full as they would against Lakebase: pgx dials
// 127.0.0.1 and verifies the certificate for that name, with no DNS.
func TestGatewayServesALakebaseName(t *testing.T) {
	info := shared.Info()
	lb := info.Lakebase
	if !strings.HasSuffix(lb.ServerName, ".database.cloud.databricks.com") || !strings.HasPrefix(lb.ServerName, "instance-") {
		t.Fatalf("server_name %q, want instance-….database.cloud.databricks.com", lb.ServerName)
	}
	password := credential(t, shared, m2mToken(t, shared, info.ServicePrincipal, "all-apis"))
	login := func(serverName string) error {
		cfg, err := pgx.ParseConfig(fmt.Sprintf("host=%s port=%d dbname=%s user=%s password=%s sslmode=verify-full sslrootcert=%s connect_timeout=10",
			serverName, lb.Port, lb.Database, info.ServicePrincipal.ClientID, password, lb.CAFile))
		if err != nil {
			return err
		}
		cfg.LookupFunc = func(context.Context, string) ([]string, error) { return []string{lb.Host}, nil }
		conn, err := pgx.ConnectConfig(context.Background(), cfg)
		if err == nil {
			conn.Close(context.Background())
		}
		return err
	}
	if err := login(lb.ServerName); err != nil {
		t.Errorf("verify-full for %s: %v", lb.ServerName, err)
	}
	if err := login("instance-other.database.cloud.databricks.com"); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("verify-full for another name: %v, want a certificate error", err)
	}
}
