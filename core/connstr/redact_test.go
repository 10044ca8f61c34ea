package connstr_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/lakelink/lakelink/core/connstr"
)

// TestSecretsNeverShown gives each secret key a distinctive value and
// checks that neither it nor any part of it after a ";" shows in String,
// Redacted, fmt's verbs, or the error of any parse failure around it.
func TestSecretsNeverShown(t *testing.T) {
	const (
		head = "Zq7headSECRET" // a secret, or the part before its ";"
		tail = "Xw4tailSECRET" // the part after its ";"
	)
	for _, key := range secretKeys {
		t.Run(key, func(t *testing.T) {
			check := func(what, text string) {
				t.Helper()
				if strings.Contains(text, head) || strings.Contains(text, tail) {
					t.Errorf("%s shows the secret: %s", what, text)
				}
			}

			o, err := connstr.Parse(key + "=" + head + ";User=u")
			if err != nil {
				t.Fatal(err)
			}
			check("String", o.String())
			check("Redacted", fmt.Sprint(o.Redacted()))
			for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q"} {
				check(verb+" of *Options", fmt.Sprintf(verb, o))
				check(verb+" of Options", fmt.Sprintf(verb, *o))
				check(verb+" of a struct holding Options", fmt.Sprintf(verb, struct{ O connstr.Options }{*o}))
			}
			if got := o.Redacted()[key]; got != "***" {
				t.Errorf("Redacted()[%q] = %q, want ***", key, got)
			}
			if !strings.Contains(o.String(), key+"=***") {
				t.Errorf("String() = %q, want %s=***", o.String(), key)
			}
			if !strings.Contains(o.Format(), head) {
				t.Errorf("Format() = lacks the secret")
			}

			lower := strings.ToLower(key)
			for _, in := range []string{
				// A bad neighbour, before and after.
				key + "=" + head + ";Port=abc",
				"Port=abc;" + key + "=" + head,
				key + "='" + head + "';Verbosity=9",
				key + "=" + head + ";InitiateOAuth=maybe",
				// Repeated.
				key + "=" + head + ";" + key + "=" + tail,
				key + "=" + head + ";" + lower + "=" + tail,
				key + "='" + head + "';" + key + "='" + tail + "'",
				// Unterminated quote.
				key + "='" + head,
				key + "=\"" + head + ";" + tail,
				key + "='" + head + "'';" + tail,
				// An unknown key right after it, and a typo of it.
				key + "=" + head + ";OAuthClientSecert=1",
				key + "=" + head + ";" + key + "x=" + tail,
				key + "x=" + head,
				// Junk after the closing quote.
				key + "='" + head + "' " + tail,
				key + "='" + head + "'" + tail,
				key + "=\"" + head + "\"" + tail + ";Port=1",
				// An unquoted secret holding ";": what follows is part of it.
				key + "=" + head + ";" + tail,
				key + "=" + head + ";" + tail + "=x",
				key + "=" + head + ";;" + tail + "=x",
				key + "=" + head + ";Port=" + tail,
				key + "=" + head + ";Timeout=" + tail,
				key + "=" + head + ";=" + tail,
				key + "=" + head + "; ;" + tail + ";Port=1",
				// A segment without "=" is never shown; nor is an unknown
				// key that does not look like a key name, such as a URL
				// with a password. (An unknown key that does look like one
				// is shown: that is the point of the message.)
				head + ";" + key + "=" + tail,
				"https://u:" + head + "@host/?a=" + tail,
				"Host=h;" + head + "/" + tail + "=x",
			} {
				o, err := connstr.Parse(in)
				if err == nil {
					t.Errorf("Parse(%q) = %v, want an error", in, o)
					continue
				}
				check(fmt.Sprintf("the error of Parse(%q)", in), err.Error())
				if e := err.(*connstr.Error); strings.Contains(e.Key, "SECRET") {
					t.Errorf("the error of Parse(%q) has Key %q", in, e.Key)
				}
			}
		})
	}
}

// TestURLPasswordsNeverShown: a URL's userinfo password, in any property
// that holds a URL, is masked by String, Redacted and fmt, and kept by
// Format.
func TestURLPasswordsNeverShown(t *testing.T) {
	const secret = "Pw9SECRET"
	for _, key := range []string{"Host", "DatabricksInstance", "Server", "DiscoveryURL", "CallbackURL"} {
		t.Run(key, func(t *testing.T) {
			o, err := connstr.Parse(key + "=http://u:" + secret + "@127.0.0.1:8080/p")
			if err != nil {
				t.Fatal(err)
			}
			for what, text := range map[string]string{"String": o.String(), "Redacted": fmt.Sprint(o.Redacted()),
				"%v": fmt.Sprintf("%v", o), "%#v": fmt.Sprintf("%#v", *o)} {
				if strings.Contains(text, secret) {
					t.Errorf("%s shows the URL's password: %s", what, text)
				}
				if !strings.Contains(text, "http://u:***@127.0.0.1:8080/p") {
					t.Errorf("%s = %s, want the URL with its password masked", what, text)
				}
			}
			if !strings.Contains(o.Format(), secret) {
				t.Errorf("Format() = %s, lacks the password", o.Format())
			}
		})
	}
}
