package lakebase

import (
	"context"
	"strings"
	"testing"

	"github.com/lakelink/lakelink/core/connstr"
)

// TestCredentialCutShortShowsNoSecret: the credentials API answers a
// credential cut short (malformed JSON holding the token). The error says
// what went wrong and shows neither the token nor databricks-sdk-go's
// request log.
func TestCredentialCutShortShowsNoSecret(t *testing.T) {
	const secret = "SECRETcredential7f3a"
	for _, c := range []struct{ endpoint, key string }{
		{"database-credentials", "Instance=" + testEmulator.Info().Lakebase.Instance},
		{"postgres-credentials", "Endpoint=" + testEmulator.Info().Lakebase.Endpoint},
	} {
		t.Run(c.endpoint, func(t *testing.T) {
			armFault(t, testEmulator, `{"endpoint":"`+c.endpoint+`","kind":"malformed","body":`+
				`"{\"token\": \"`+secret+`\", \"expire_time\": \"x\", \"expiration_time\": "}`)
			o, err := connstr.Parse(lakebaseConn(testEmulator, c.key+";User=u"))
			if err != nil {
				t.Fatal(err)
			}
			p, err := Connect(context.Background(), o)
			if err == nil {
				p.Close()
				t.Fatal("connected with a credential cut short")
			}
			msg := err.Error()
			for _, leak := range []string{secret, "Request log", "Authorization", "Bearer"} {
				if strings.Contains(msg, leak) {
					t.Errorf("the error shows %q: %s", leak, msg)
				}
			}
			if !strings.Contains(msg, "not valid JSON") {
				t.Errorf("the error does not say the answer was not valid JSON: %s", msg)
			}
		})
	}
}
