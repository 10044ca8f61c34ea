package apps

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"syscall"

	"golang.org/x/net/http/httpproxy"

	"github.com/lakelink/lakelink/core/weburl"
)

// networkError diagnoses a call that got no answer, or whose answer could
// not be read: u is the URL called, sent what the transport put on the
// request, err the failure (a *url.Error from http.Client is unwrapped).
func (a *App) networkError(ctx context.Context, op string, u *url.URL, sent attempt, err error) *Error {
	if uerr, ok := err.(*url.Error); ok {
		err = uerr.Err
	}
	e := &Error{Op: op, Kind: KindNetwork, Err: err, Message: err.Error(),
		Diagnosis: sentences(a.networkCause(ctx, u, err), a.proxyReport(u))}
	// A proxy URL in an underlying error may carry user:password@.
	e.Message = urlUserinfo.ReplaceAllString(e.Message, "$1")
	e.Diagnosis = urlUserinfo.ReplaceAllString(e.Diagnosis, "$1")
	e.scrub(sent.token)
	return e
}

// urlUserinfo matches the scheme and user:password@ of a URL in text.
var urlUserinfo = regexp.MustCompile(`([A-Za-z][A-Za-z0-9+.-]*://)[^/@\s"']+@`)

// certAdvice follows a certificate problem.
const certAdvice = "A corporate proxy may intercept TLS: if so, add its CA certificate to this machine's trust store, or point SSL_CERT_FILE at a file that holds it."

// networkCause says what kind of network failure err is and what to check.
func (a *App) networkCause(ctx context.Context, u *url.URL, err error) string {
	var (
		opErr  *net.OpError
		dnsErr *net.DNSError
		netErr net.Error
	)
	viaProxy := errors.As(err, &opErr) && opErr.Op == "proxyconnect"
	proxyAddr := "the proxy"
	if p, _, _ := a.proxyFor(u); p != nil {
		proxyAddr = "the proxy at " + hostPort(p)
	}
	switch {
	case errors.Is(err, context.Canceled) || errors.Is(ctx.Err(), context.Canceled):
		return "The call was canceled (its context was canceled) before the app answered."

	case errors.As(err, &dnsErr):
		name := dnsErr.Name
		if viaProxy || (name != "" && !strings.EqualFold(name, u.Hostname())) {
			return fmt.Sprintf("The proxy's host %s could not be resolved (%s): check the proxy variable.", name, dnsErr.Err)
		}
		switch {
		case dnsErr.IsNotFound:
			return fmt.Sprintf("host not found: check the app URL (%s does not resolve; the app's page in the workspace shows its URL).", u.Hostname())
		case dnsErr.IsTimeout:
			return fmt.Sprintf("The DNS lookup of %s timed out: check the network, the VPN and the DNS settings.", u.Hostname())
		}
		return fmt.Sprintf("The DNS lookup of %s failed (%s): check the network, the VPN and the DNS settings, and the app URL.", u.Hostname(), dnsErr.Err)

	case errnoIs(err, syscall.ECONNREFUSED):
		if viaProxy {
			return fmt.Sprintf("connection refused: nothing listens at %s: check the proxy variable and that the proxy is running.", strings.TrimPrefix(proxyAddr, "the proxy at "))
		}
		return fmt.Sprintf("connection refused: nothing listens at %s: is the URL right, is the app running?", hostPort(u))

	case certificateProblem(err) != "":
		return certificateProblem(err)

	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return "The context's deadline passed before the app answered: the app may be starting or overloaded, or a firewall or proxy may hold the connection; allow more time or check the network."

	case errors.As(err, &opErr) && opErr.Op == "dial" && opErr.Timeout():
		return fmt.Sprintf("Connecting to %s timed out: the host may be unreachable from this network (a VPN?), or a firewall drops the connection.", hostPort(u))

	case errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &netErr) && netErr.Timeout()):
		within := "in time"
		if a.timeout > 0 {
			within = fmt.Sprintf("within %s, the client's timeout (WithTimeout changes it)", a.timeout)
		}
		return fmt.Sprintf("The app did not answer %s: it may be starting or overloaded, or a firewall or proxy may hold the connection.", within)

	case errnoIs(err, syscall.ECONNRESET) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return "The connection was closed before the whole answer arrived: a proxy or firewall may cut it, or the app restarted; try again, and check the app's logs."

	case errnoIs(err, syscall.ENETUNREACH) || errnoIs(err, syscall.EHOSTUNREACH):
		return fmt.Sprintf("%s cannot be reached from this network: check the connection and any VPN the workspace needs.", hostPort(u))
	}
	return fmt.Sprintf("The request did not reach the app at %s: check the URL and the network.", hostPort(u))
}

// certificateProblem describes a TLS or certificate failure in err, or
// returns "".
func certificateProblem(err error) string {
	var (
		unknown  x509.UnknownAuthorityError
		hostname x509.HostnameError
		invalid  x509.CertificateInvalidError
		verify   *tls.CertificateVerificationError
		record   tls.RecordHeaderError
		alert    tls.AlertError
	)
	switch {
	case errors.As(err, &unknown):
		return sentences("certificate problem: the server's certificate is signed by an authority this machine does not trust.", certAdvice)
	case errors.As(err, &hostname):
		return sentences(fmt.Sprintf("certificate problem: the server's certificate is not valid for %s: check the app URL.", hostname.Host), certAdvice)
	case errors.As(err, &invalid) && invalid.Reason == x509.Expired:
		return sentences("certificate problem: the server's certificate has expired or is not yet valid: check this machine's clock.", certAdvice)
	case errors.As(err, &invalid):
		return sentences(fmt.Sprintf("certificate problem: %s.", invalid.Error()), certAdvice)
	case errors.As(err, &verify):
		return sentences(fmt.Sprintf("certificate problem: %s.", verify.Err), certAdvice)
	// net/http replaces the RecordHeaderError of an answer in plain HTTP
	// with an error of its own, known only by its text.
	case errors.As(err, &record) || strings.Contains(err.Error(), "server gave HTTP response to HTTPS client"):
		return "The server did not answer in TLS: if the app URL says https://, check whether it should be http:// (a local emulator speaks plain http), or whether something other than the app listens there."
	case errors.As(err, &alert):
		return sentences(fmt.Sprintf("The TLS handshake failed: the server sent the alert %q.", alert.Error()), certAdvice)
	}
	return ""
}

// proxyVariableNames are the variables http.ProxyFromEnvironment reads, in
// its order of precedence (upper case first).
var proxyVariableNames = []string{"HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy"}

// proxyVariables lists the proxy variables that are set, as NAME=value,
// with any user:password@ removed from proxy URLs. They are not secrets
// otherwise, and the user needs to see them.
func proxyVariables() []string {
	var out []string
	seen := map[string]string{}
	for _, name := range proxyVariableNames {
		v := os.Getenv(name)
		upper := strings.ToUpper(name)
		if v == "" || (name != upper && seen[upper] == v) { // a case-insensitive environment repeats it
			continue
		}
		seen[name] = v
		if upper != "NO_PROXY" {
			v = stripUserinfo(v)
		}
		out = append(out, name+"="+v)
	}
	return out
}

// proxyReport names the proxy variables that are set and says whether the
// request to u went through a proxy; "" when none is set.
func (a *App) proxyReport(u *url.URL) string {
	vars := proxyVariables()
	if len(vars) == 0 {
		return ""
	}
	return sentences(fmt.Sprintf("Proxy variables: %s.", strings.Join(vars, ", ")), a.proxyRoute(u))
}

// proxyRoute says whether, and why, the request to u went through a proxy.
func (a *App) proxyRoute(u *url.URL) string {
	proxy, known, err := a.proxyFor(u)
	if t, ok := a.base.(*http.Transport); ok && t.Proxy == nil {
		return "The request went directly, not through a proxy: the HTTP client's transport is set to use none, so these variables are ignored."
	}
	if err != nil {
		return "The proxy setting could not be used, so the request was not sent: check the proxy variable."
	}
	subject := "The request"
	if !known {
		subject = "If the HTTP client's transport honours these variables, the request"
	}
	if proxy != nil {
		return fmt.Sprintf("%s went through the proxy %s.", subject, stripUserinfo(proxy.String()))
	}
	direct := subject + " went directly, not through a proxy"
	host := u.Hostname()
	if weburl.IsLoopback(host) {
		return fmt.Sprintf("%s: %s is a loopback address, which never goes through one.", direct, host)
	}
	cfg := httpproxy.FromEnvironment()
	applies, name := cfg.HTTPProxy, "HTTP_PROXY"
	if u.Scheme == "https" {
		applies, name = cfg.HTTPSProxy, "HTTPS_PROXY"
	}
	switch {
	case applies == "":
		return fmt.Sprintf("%s: %s, the variable for %s:// URLs, is not set.", direct, name, u.Scheme)
	case cfg.NoProxy != "":
		return fmt.Sprintf("%s: NO_PROXY matches %s.", direct, host)
	}
	return direct + "."
}

// proxyFor returns the proxy a request to u goes through (nil: none).
// known is true when that is what the App's transport decides (it is an
// *http.Transport), false when it is only what the environment says.
func (a *App) proxyFor(u *url.URL) (proxy *url.URL, known bool, err error) {
	if t, ok := a.base.(*http.Transport); ok {
		if t.Proxy == nil {
			return nil, true, nil
		}
		proxy, err = t.Proxy(&http.Request{Method: http.MethodGet, URL: u, Header: http.Header{}, Host: u.Host})
		return proxy, true, err
	}
	proxy, err = httpproxy.FromEnvironment().ProxyFunc()(u)
	return proxy, false, err
}
