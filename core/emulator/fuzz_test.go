package emulator

import (
	"bytes"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgproto3"
)

// FuzzGatewayStartup feeds the gateway's startup-phase parsing (the
// packet framing, the StartupMessage decoding with its protocol
// negotiation, and the password message that follows) whatever a client
// may send before it is logged in: nothing panics or allocates past the
// framing's limits, and what decodes holds no protocol option among its
// parameters and encodes back to the same parameters. The seed corpus is
// in testdata/fuzz/FuzzGatewayStartup.
func FuzzGatewayStartup(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		r := bytes.NewReader(data)
		body, code, err := readStartupPacket(r)
		if err != nil {
			return
		}
		if len(body) < 4 || len(body) > 10000 {
			t.Fatalf("a startup packet body of %d bytes was accepted", len(body))
		}
		if code == sslRequestCode || code == gssEncRequestCode || code == cancelRequestCode {
			return
		}
		params, options, err := decodeStartup(slices.Clone(body))
		if err == nil {
			for k := range params {
				if strings.HasPrefix(k, "_pq_.") {
					t.Fatalf("protocol option %q left among the parameters", k)
				}
			}
			if !slices.IsSorted(options) {
				t.Fatalf("options %q not sorted", options)
			}
			encoded, err := (&pgproto3.StartupMessage{ProtocolVersion: pgproto3.ProtocolVersion30, Parameters: params}).Encode(nil)
			if err != nil {
				t.Fatalf("decoded parameters do not encode: %v", err)
			}
			again, _, err := readStartupPacket(bytes.NewReader(encoded))
			if err != nil {
				t.Fatalf("re-encoded startup message: %v", err)
			}
			params2, _, err := decodeStartup(again)
			if err != nil || !maps.Equal(params, params2) {
				t.Fatalf("parameters %q re-encoded decode as %q, %v", params, params2, err)
			}
		}
		if password, err := readPassword(r); err == nil && strings.ContainsRune(password, 0) {
			t.Fatalf("a password with a NUL byte was read")
		}
	})
}
