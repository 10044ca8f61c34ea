package emulator

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/big"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"
)

// gateway is the Lakebase endpoint: a PostgreSQL wire-protocol front that,
// like Lakebase, requires TLS, asks for a cleartext password and accepts a
// Databricks OAuth token or Lakebase credential as that password, checked at
// login only. It then proxies the session to the backing server as a role
// named after the token's principal.
type gateway struct {
	e      *Emulator
	ln     net.Listener
	tls    *tls.Config
	ctx    context.Context
	cancel context.CancelFunc
	// mu guards sessions and closed; wg counts the serve goroutine and the
	// sessions, added under mu while not closed.
	mu       sync.Mutex
	sessions map[net.Conn]struct{}
	closed   bool
	wg       sync.WaitGroup
}

func newGateway(e *Emulator, ln net.Listener) *gateway {
	ctx, cancel := context.WithCancel(context.Background())
	return &gateway{e: e, ln: ln, ctx: ctx, cancel: cancel, sessions: map[net.Conn]struct{}{}}
}

// setUpTLS makes a self-signed CA and a server certificate for 127.0.0.1,
// localhost and serverName, and writes the CA's certificate to caFile for clients that
// verify (sslmode=verify-full).
func (g *gateway) setUpTLS(caFile string) error {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	now := time.Now()
	caTemplate := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "lakelink emulator CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(30 * 24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTemplate, caTemplate, &caKey.PublicKey, caKey)
	if err != nil {
		return err
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(30 * 24 * time.Hour),
		DNSNames: []string{"localhost", serverName}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}, ca, &key.PublicKey, caKey)
	if err != nil {
		return err
	}
	g.tls = &tls.Config{
		Certificates: []tls.Certificate{{Certificate: [][]byte{leafDER}, PrivateKey: key}},
		MinVersion:   tls.VersionTLS12,
		NextProtos:   []string{"postgresql"}, // ALPN, required for PostgreSQL 17's direct TLS
	}
	return os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), 0o644)
}

// start accepts sessions until close.
func (g *gateway) start() {
	g.wg.Add(1)
	go g.serve()
}

func (g *gateway) serve() {
	defer g.wg.Done()
	var delay time.Duration // after a failed Accept, as http.Server does
	for {
		conn, err := g.ln.Accept()
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil {
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			g.e.log.Warn("lakebase accept failed; retrying", "err", err, "in", delay)
			select {
			case <-time.After(delay):
			case <-g.ctx.Done():
				return
			}
			continue
		}
		delay = 0
		g.e.stats.update(func(s *Stats) { s.Calls[epGateway]++ })
		f := g.e.faults.take(epGateway)
		if f != nil {
			g.e.log.Info("fault injected", "endpoint", epGateway, "kind", f.Kind)
		}
		if f != nil && f.Kind == faultDrop {
			conn.Close()
			continue
		}
		if !g.track(conn) {
			conn.Close()
			return
		}
		go func() {
			defer g.wg.Done()
			defer g.untrack(conn)
			defer conn.Close()
			g.handle(conn, f)
		}()
	}
}

// track registers a session and counts it in wg, unless the gateway is
// closed.
func (g *gateway) track(c net.Conn) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return false
	}
	g.sessions[c] = struct{}{}
	g.wg.Add(1)
	g.e.stats.update(func(s *Stats) { s.Open.Gateway++ })
	return true
}

func (g *gateway) untrack(c net.Conn) {
	g.mu.Lock()
	defer g.mu.Unlock()
	delete(g.sessions, c)
	g.e.stats.update(func(s *Stats) { s.Open.Gateway-- })
}

// close stops accepting, ends every session and waits for all to finish.
func (g *gateway) close() {
	g.mu.Lock()
	g.closed = true
	for c := range g.sessions {
		c.Close()
	}
	g.mu.Unlock()
	g.ln.Close()
	g.cancel()
	g.wg.Wait()
}

// Startup-phase request codes (PostgreSQL protocol, "Message Formats").
const (
	sslRequestCode    = 80877103
	gssEncRequestCode = 80877104
	cancelRequestCode = 80877102
	tlsHandshakeByte  = 0x16 // first byte of a TLS record: direct TLS (PostgreSQL 17)
)

const tlsRequired = "TLS required: Lakebase accepts only encrypted connections (use sslmode=require)"

// handle runs one client connection: TLS, startup, password, then a proxied
// session. Startup messages are read without buffering so that nothing the
// client sends is lost when the raw byte relay takes over. A cut fault, if
// not nil, ends the session its duration after the login.
func (g *gateway) handle(raw net.Conn, cut *Fault) {
	raw.SetDeadline(time.Now().Add(30 * time.Second))
	first := make([]byte, 1)
	if _, err := io.ReadFull(raw, first); err != nil {
		return
	}
	var conn net.Conn = raw
	if first[0] == tlsHandshakeByte {
		conn = tls.Server(&prefixConn{Conn: raw, prefix: first}, g.tls)
	} else {
		body, code, err := readStartupPacket(io.MultiReader(strings.NewReader(string(first)), raw))
		if err != nil {
			return
		}
		switch code {
		case cancelRequestCode:
			g.forwardCancel(body)
			return
		case gssEncRequestCode, sslRequestCode:
			if code == gssEncRequestCode { // no GSSAPI; the client then asks for TLS or gives up
				raw.Write([]byte{'N'})
				if body, code, err = readStartupPacket(raw); err != nil || code != sslRequestCode {
					g.refuse(raw, "28000", tlsRequired)
					return
				}
			}
			if _, err := raw.Write([]byte{'S'}); err != nil {
				return
			}
			conn = tls.Server(raw, g.tls)
		default:
			g.refuse(raw, "28000", tlsRequired)
			return
		}
	}
	body, version, err := readStartupPacket(conn)
	if err != nil {
		return
	}
	if version == cancelRequestCode {
		g.forwardCancel(body)
		return
	}
	params, options, err := decodeStartup(body)
	if err != nil {
		g.refuse(conn, "08P01", "invalid startup message: "+err.Error())
		return
	}
	// The backend session speaks 3.0 and takes no protocol options: like
	// PostgreSQL, say so to a client that asked for more.
	if version&0xFFFF > 0 || len(options) > 0 {
		if err := g.send(conn, &pgproto3.NegotiateProtocolVersion{NewestMinorProtocol: 0, UnrecognizedOptions: options}); err != nil {
			return
		}
	}
	user := params["user"]
	db := params["database"]
	if db == "" {
		db = user
	}
	switch {
	case user == "":
		g.refuse(conn, "28000", "no user name given")
		return
	case looksLikeToken(user): // never echoed nor logged
		g.e.stats.update(func(s *Stats) { s.GatewayLogins.Refused++ })
		g.e.log.Info("lakebase login refused", "reason", "the user name looks like a token")
		g.refuse(conn, "28000", "the user name looks like a token: put the token in the password")
		return
	}
	if err := g.send(conn, &pgproto3.AuthenticationCleartextPassword{}); err != nil {
		return
	}
	password, err := readPassword(conn)
	if err != nil {
		return
	}
	if problem := g.checkLogin(user, password); problem != "" {
		g.e.stats.update(func(s *Stats) { s.GatewayLogins.Refused++ })
		g.e.log.Info("lakebase login refused", "user", user, "reason", problem)
		g.refuse(conn, "28P01", fmt.Sprintf("password authentication failed for user %q: %s", user, problem))
		return
	}
	backend, err := g.openBackend(user, db, params)
	if err != nil {
		g.e.log.Warn("lakebase backend session failed", "user", user, "err", err)
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) {
			g.refuse(conn, pgErr.Code, pgErr.Message)
		} else {
			g.refuse(conn, "08006", "the Lakebase backend is unavailable: "+err.Error())
		}
		return
	}
	defer backend.Conn.Close()
	g.e.stats.update(func(s *Stats) { s.GatewayLogins.Accepted++ })
	g.e.log.Info("lakebase login accepted", "user", user, "database", db)

	msgs := []pgproto3.BackendMessage{&pgproto3.AuthenticationOk{}}
	for k, v := range backend.ParameterStatuses {
		msgs = append(msgs, &pgproto3.ParameterStatus{Name: k, Value: v})
	}
	msgs = append(msgs, &pgproto3.BackendKeyData{ProcessID: backend.PID, SecretKey: backend.SecretKey},
		&pgproto3.ReadyForQuery{TxStatus: backend.TxStatus})
	if err := g.send(conn, msgs...); err != nil {
		return
	}
	raw.SetDeadline(time.Time{})
	if cut != nil {
		timer := time.AfterFunc(cut.duration, func() {
			g.e.log.Info("fault injected: session cut", "user", user)
			raw.Close()
			backend.Conn.Close()
		})
		defer timer.Stop()
	}
	relay(conn, backend.Conn)
}

// looksLikeToken reports whether a user name is probably a token given in
// the wrong field (a JWT is long and has two dots).
func looksLikeToken(user string) bool {
	return len(user) > 100 && strings.Count(user, ".") >= 2
}

// checkLogin verifies a password as Lakebase does at login: a token signed
// by the workspace, unexpired, meant for this endpoint, whose principal is
// the user name. It returns what is wrong, or "".
func (g *gateway) checkLogin(user, password string) string {
	claims, err := g.e.signer.verify(password, time.Now())
	var expired *expiredError
	switch {
	case errors.As(err, &expired):
		return "the token expired at " + expired.at.Format(time.RFC3339)
	case errors.Is(err, errBadSignature):
		return "the token has a bad signature (not issued by this workspace)"
	case err != nil:
		return "the password is not a Databricks OAuth token or Lakebase credential"
	}
	if claims.Target != "" && claims.Target != "instance/"+instanceName && claims.Target != "endpoint/"+endpointName {
		return "the credential was minted for " + claims.Target + ", not this database"
	}
	if claims.Subject != user {
		return fmt.Sprintf("user %s is not the token's principal (%s)", user, claims.Subject)
	}
	if p := g.e.dir.principalByName(user); p == nil || !p.CanConnectLakebase {
		return "principal " + user + " may not connect to this database"
	}
	return ""
}

// openBackend logs in to the backing server as the principal's role with
// the client's startup parameters and takes over the raw connection.
func (g *gateway) openBackend(user, db string, params map[string]string) (*pgconn.HijackedConn, error) {
	ctx, cancel := context.WithTimeout(g.ctx, 15*time.Second)
	defer cancel()
	params = maps.Clone(params)
	delete(params, "user")
	delete(params, "database")
	conn, err := g.e.connectBackend(ctx, user, db, params)
	if err != nil {
		return nil, err
	}
	// pgconn may still be reading in the background (after a slow write);
	// the relay needs the raw connection to itself.
	if err := conn.SyncConn(ctx); err != nil {
		conn.Close(ctx)
		return nil, err
	}
	return conn.Hijack()
}

// forwardCancel relays a CancelRequest to the backend, whose process id and
// key the client received unchanged.
func (g *gateway) forwardCancel(body []byte) {
	cfg := g.e.admin.Config().ConnConfig.Config
	network, address := pgconn.NetworkAddress(cfg.Host, cfg.Port) // a unix socket too
	conn, err := net.DialTimeout(network, address, 5*time.Second)
	if err != nil {
		return
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	packet := binary.BigEndian.AppendUint32(nil, uint32(len(body)+4))
	conn.Write(append(packet, body...))
	io.Copy(io.Discard, conn) // the server closes when done
}

// relay copies bytes both ways until either side closes.
func relay(a, b net.Conn) {
	done := make(chan struct{}, 2)
	pipe := func(dst, src net.Conn) {
		io.Copy(dst, src)
		dst.Close()
		src.Close()
		done <- struct{}{}
	}
	go pipe(a, b)
	go pipe(b, a)
	<-done
	<-done
}

func (g *gateway) send(w io.Writer, msgs ...pgproto3.BackendMessage) error {
	var buf []byte
	for _, m := range msgs {
		var err error
		if buf, err = m.Encode(buf); err != nil {
			return err
		}
	}
	_, err := w.Write(buf)
	return err
}

// refuse ends a login with a FATAL error, the gateway's own or the
// backend's.
func (g *gateway) refuse(w io.Writer, code, message string) {
	g.send(w, &pgproto3.ErrorResponse{Severity: "FATAL", SeverityUnlocalized: "FATAL", Code: code, Message: message})
}

// readStartupPacket reads one length-prefixed startup-phase packet and
// returns its body and request code.
func readStartupPacket(r io.Reader) ([]byte, uint32, error) {
	var header [4]byte
	if _, err := io.ReadFull(r, header[:]); err != nil {
		return nil, 0, err
	}
	n := int(binary.BigEndian.Uint32(header[:])) - 4
	if n < 4 || n > 10000 {
		return nil, 0, fmt.Errorf("invalid startup packet length %d", n)
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(r, body); err != nil {
		return nil, 0, err
	}
	return body, binary.BigEndian.Uint32(body), nil
}

// decodeStartup decodes the body of a StartupMessage (its protocol
// version first) into its parameters, less the protocol options (_pq_.*),
// which it returns sorted. pgproto3 decodes versions 3.0 and 3.2 only;
// PostgreSQL takes any 3.x and negotiates it down, as the gateway does.
// body is changed.
func decodeStartup(body []byte) (params map[string]string, options []string, err error) {
	if len(body) >= 4 && binary.BigEndian.Uint32(body)>>16 == 3 {
		binary.BigEndian.PutUint32(body, pgproto3.ProtocolVersion30)
	}
	var startup pgproto3.StartupMessage
	if err := startup.Decode(body); err != nil {
		return nil, nil, err
	}
	for k := range startup.Parameters {
		if strings.HasPrefix(k, "_pq_.") {
			options = append(options, k)
			delete(startup.Parameters, k)
		}
	}
	slices.Sort(options)
	return startup.Parameters, options, nil
}

// readPassword reads the PasswordMessage answering a cleartext request.
func readPassword(r io.Reader) (string, error) {
	var header [5]byte
	if _, err := io.ReadFull(r, header[:]); err != nil {
		return "", err
	}
	n := int(binary.BigEndian.Uint32(header[1:])) - 4
	if header[0] != 'p' || n < 1 || n > 64<<10 {
		return "", errors.New("expected a password message")
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(r, body); err != nil {
		return "", err
	}
	var msg pgproto3.PasswordMessage
	if err := msg.Decode(body); err != nil {
		return "", err
	}
	return msg.Password, nil
}

// prefixConn replays bytes already read before the rest of the connection.
type prefixConn struct {
	net.Conn
	prefix []byte
}

func (c *prefixConn) Read(p []byte) (int, error) {
	if len(c.prefix) > 0 {
		n := copy(p, c.prefix)
		c.prefix = c.prefix[n:]
		return n, nil
	}
	return c.Conn.Read(p)
}
