package apps

import (
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestUserToken(t *testing.T) {
	jwt := "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhQGV4YW1wbGUuY29tIn0.c2lnbmF0dXJl"
	secret := "s3cretPart"
	for _, c := range []struct {
		name    string
		values  []string
		want    string // the token, or a phrase of the error
		missing bool
	}{
		{name: "one token", values: []string{jwt}, want: jwt},
		{name: "padded", values: []string{"abc+/_-~.def=="}, want: "abc+/_-~.def=="},
		{name: "missing", missing: true, want: "User authorization"},
		{name: "empty", values: []string{""}, missing: true, want: "User authorization"},
		{name: "two headers", values: []string{jwt, secret}, want: "2 X-Forwarded-Access-Token headers"},
		{name: "comma list", values: []string{secret + "," + jwt}, want: "comma-separated list"},
		{name: "two with a space", values: []string{secret + " " + jwt}, want: "spaces"},
		{name: "with Bearer", values: []string{"Bearer " + secret}, want: `starts with "Bearer "`},
		{name: "other characters", values: []string{secret + "\"<>"}, want: "a character a bearer token cannot have"},
		{name: "only padding", values: []string{"=="}, want: "only padding"},
		{name: "over 64 KiB", values: []string{secret + strings.Repeat("a", 64<<10)}, want: "more than the 64 KiB"},
		{name: "1 MB", values: []string{secret + strings.Repeat("a", 1<<20)}, want: "more than the 64 KiB"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/api/x", nil)
			for _, v := range c.values {
				r.Header.Add("X-Forwarded-Access-Token", v)
			}
			got, err := UserToken(r)
			if err == nil {
				if got != c.want {
					t.Fatalf("token %.20q, want %.20q", got, c.want)
				}
				return
			}
			if got != "" {
				t.Errorf("a token with the error")
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q, want it to say %q", err, c.want)
			}
			if errors.Is(err, ErrNoUserToken) != c.missing {
				t.Errorf("errors.Is(err, ErrNoUserToken) = %v", !c.missing)
			}
			if strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), "eyJ") {
				t.Errorf("the error repeats the value: %q", err)
			}
		})
	}
}
