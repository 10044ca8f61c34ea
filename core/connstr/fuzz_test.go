package connstr_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/lakelink/lakelink/core/connstr"
)

// secretValues returns o's secret fields, in table order.
func secretValues(o *connstr.Options) []string {
	return []string{o.OAuthClientSecret, o.Token, o.OAuthAccessToken, o.OAuthRefreshToken, o.OAuthVerifier, o.Password}
}

// withSecrets returns a copy of o with each secret that is set replaced
// by value ("" clears it).
func withSecrets(t *testing.T, o *connstr.Options, value string) *connstr.Options {
	c := *o
	for _, k := range connstr.Keys() {
		if connstr.IsSecret(k) && o.Redacted()[k] != "" {
			if err := c.Set(k, value); err != nil {
				t.Fatalf("Set(%q): %v", k, err)
			}
		}
	}
	return &c
}

// errText is err's text, or "<nil>".
func errText(err error) string { return fmt.Sprint(err) }

// FuzzParse checks, for any input: Parse does not panic and fails only with
// an *Error and no Options; what it parses, Format writes back exactly;
// String, Redacted and the errors of parses around it do not depend on the
// secret values and do not show them. The seed corpus is in
// testdata/fuzz/FuzzParse.
func FuzzParse(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		o, err := connstr.Parse(s)
		if err != nil {
			var e *connstr.Error
			if o != nil || !errors.As(err, &e) {
				t.Fatalf("Parse(%q) = %v, %T %v; want nil and an *Error", s, o, err, err)
			}
			return
		}

		// Format round-trips, and is a fixed point.
		formatted := o.Format()
		o2, err := connstr.Parse(formatted)
		if err != nil {
			t.Fatalf("Parse(%q) ok, but Parse of its Format %q: %v", s, formatted, err)
		}
		if *o2 != *o {
			t.Fatalf("Parse(%q) = %+v\nParse(Format) = %+v", s, fields(o), fields(o2))
		}
		if f2 := o2.Format(); f2 != formatted {
			t.Fatalf("Format not stable: %q then %q", formatted, f2)
		}

		// Without its secrets, String round-trips too.
		plain := withSecrets(t, o, "")
		if p, err := connstr.Parse(plain.String()); err != nil || *p != *plain {
			t.Fatalf("without secrets, Parse(String %q) = %+v, %v; want %+v", plain.String(), p, err, fields(plain))
		}

		// Nothing shown depends on the secrets' values: the same options
		// with other secrets show the same String, Redacted, and errors.
		alt := withSecrets(t, o, "sentinel-value")
		shown := []struct{ what, got, alt string }{
			{"String", o.String(), alt.String()},
			{"Redacted", fmt.Sprint(o.Redacted()), fmt.Sprint(alt.Redacted())},
			{"%#v", fmt.Sprintf("%#v", *o), fmt.Sprintf("%#v", *alt)},
		}
		for _, suffix := range []string{";Port=abc", ";OAuthClientSecert=1", ";junk;Port=1", ";Port='x", ";User='x'y", ";=1", ";" + formatted} {
			shown = append(shown, struct{ what, got, alt string }{
				"the error of Parse(Format+" + suffix + ")",
				errText(parseErr(formatted + suffix)), errText(parseErr(alt.Format() + suffix)),
			})
		}
		for _, sh := range shown {
			if sh.got != sh.alt {
				t.Fatalf("%s depends on the secret values: %q with them, %q with others", sh.what, sh.got, sh.alt)
			}
			for _, v := range secretValues(o) {
				if len(v) >= 4 && strings.Contains(sh.got, v) && !strings.Contains(sh.alt, v) {
					t.Fatalf("%s shows the secret %q: %s", sh.what, v, sh.got)
				}
			}
		}
	})
}

func parseErr(s string) error {
	_, err := connstr.Parse(s)
	return err
}
