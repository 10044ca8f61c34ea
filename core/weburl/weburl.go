// Package weburl holds the one rule for the URLs of the servers lakelink
// sends a secret to (a workspace, an OAuth server, an app): https, or http
// only to the local machine, with a host that every program reads alike.
// The apps and connstr packages both apply it.
package weburl

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strings"
)

// Check returns what is wrong with u as the URL of a server that is sent a
// secret, or nil. Its scheme must be https, or http for a loopback host
// (see [IsLoopback]): http carries the secret in cleartext, which only a
// local emulator may be reached with. Its host must be given, and an
// address written as one: an IPv4 address as four decimal numbers
// (127.0.0.1), not as 127.1, 0x7f.0.0.1, 2130706433 or 127.000.0.1, which
// browsers, C resolvers and Go read differently; an IPv6 address in
// brackets. The error is a clause that follows the URL in a message
// ("it uses http, ..."), and does not repeat the URL.
func Check(u *url.URL) error {
	host := u.Hostname()
	switch {
	case u.Scheme != "https" && u.Scheme != "http":
		return fmt.Errorf("the scheme is %q; it must be https (or http for a local emulator on this machine)", u.Scheme)
	case host == "":
		return errors.New("no host: write it as https://host")
	}
	if err := checkHost(host); err != nil {
		return err
	}
	if u.Scheme == "http" && !IsLoopback(host) {
		return errors.New("it uses http, which would send the token in cleartext: http is only for a local emulator " +
			"on a loopback host (localhost, 127.0.0.0/8, [::1]); write https://")
	}
	return nil
}

// IsLoopback reports whether host, a URL's host name (without port or
// brackets), is the local machine by its spelling alone: localhost (in any
// case, without a trailing dot, which would make it a DNS name), an IPv4
// address of 127.0.0.0/8 written as four decimal numbers, or an IPv6
// spelling of ::1 or of ::ffff:127.x.y.z. Every other name is not,
// whatever it resolves to.
func IsLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.IsLoopback()
}

// checkHost refuses a host that reads as an IP address but is not written
// as one in the usual form.
func checkHost(host string) error {
	if strings.Contains(host, ":") { // url.Parse took it from brackets
		if _, err := netip.ParseAddr(host); err != nil {
			return errors.New("its host, in brackets, is not an IPv6 address")
		}
		return nil
	}
	if !endsInNumber(host) {
		return nil
	}
	if a, err := netip.ParseAddr(host); err != nil || !a.Is4() {
		return errors.New("its host reads as an IPv4 address, which programs read differently unless it is " +
			"written as four decimal numbers without a final dot, such as 127.0.0.1")
	}
	return nil
}

// endsInNumber reports whether the last label of host (after one final
// dot) is a decimal or 0x hexadecimal number: the hosts that the WHATWG
// URL standard, and so browsers and Node, read as IPv4 addresses.
func endsInNumber(host string) bool {
	h := strings.TrimSuffix(host, ".")
	last := strings.ToLower(h[strings.LastIndex(h, ".")+1:])
	digits := "0123456789"
	if hex, ok := strings.CutPrefix(last, "0x"); ok {
		last, digits = hex, "0123456789abcdef"
		if last == "" {
			return true
		}
	}
	return last != "" && strings.Trim(last, digits) == ""
}
