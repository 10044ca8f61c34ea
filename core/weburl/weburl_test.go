package weburl

import (
	"net/url"
	"strings"
	"testing"
)

func TestIsLoopback(t *testing.T) {
	for host, want := range map[string]bool{
		"localhost": true, "LocalHost": true, "127.0.0.1": true, "127.255.0.9": true, "::1": true,
		"0:0:0:0:0:0:0:1": true, "::ffff:127.0.0.1": true,
		"localhost.": false, "foo.localhost": false, "127.1": false, "0x7f.0.0.1": false, "2130706433": false,
		"128.0.0.1": false, "::2": false, "::ffff:10.0.0.1": false, "example.com": false, "": false,
	} {
		if got := IsLoopback(host); got != want {
			t.Errorf("IsLoopback(%q) = %v, want %v", host, got, want)
		}
	}
}

func TestCheck(t *testing.T) {
	for raw, want := range map[string]string{
		"https://example.com":        "",
		"https://example.com.":       "",
		"https://10.0.0.1:8443":      "",
		"https://[2001:db8::1]":      "",
		"http://127.0.0.1:8080":      "",
		"http://localhost":           "",
		"http://[::1]:80":            "",
		"http://example.com":         "it uses http",
		"http://10.0.0.1":            "it uses http",
		"http://localhost.":          "it uses http",
		"ftp://example.com":          `the scheme is "ftp"`,
		"https://":                   "no host",
		"https://127.1":              "its host reads as an IPv4 address",
		"https://0x7f.0.0.1":         "reads as an IPv4 address",
		"https://0X7F.0.0.1":         "reads as an IPv4 address",
		"https://example.0x":         "reads as an IPv4 address",
		"https://2130706433":         "reads as an IPv4 address",
		"https://127.000.000.001":    "reads as an IPv4 address",
		"https://127.0.0.1.":         "reads as an IPv4 address",
		"https://1.2.3.4.5":          "reads as an IPv4 address",
		"https://example.123abc":     "",
		"https://[fe80::1%25eth0]:1": "",
		"http://[fe80::1%25eth0]:1":  "it uses http",
	} {
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		err = Check(u)
		switch {
		case want == "" && err != nil:
			t.Errorf("Check(%s) = %v, want nil", raw, err)
		case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
			t.Errorf("Check(%s) = %v, want an error with %q", raw, err, want)
		}
	}
}
