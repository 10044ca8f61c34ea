package lakebase

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/lakelink/lakelink/core/connstr"
)

// This file tests the *Error of a failed connection: what it says for each
// way a login fails.

func TestConnectionErrors(t *testing.T) {
	e := testEmulator
	info := e.Info()
	wrongCA := otherCA(t)
	for name, tc := range map[string]struct {
		conn, sqlstate string
		want           []string
	}{
		"user mismatch": {lakebaseConn(e, "Instance="+info.Lakebase.Instance+";User=someone@example.com"), "28P01",
			[]string{"user someone@example.com is not the principal of this token (" + info.ServicePrincipal.ClientID + ")", "127.0.0.1"}},
		"no TLS": {lakebaseConn(e, "Instance="+info.Lakebase.Instance+";SSLMode=disable"), "28000",
			[]string{"TLS required by server: use SSLMode=require (or verify-full)"}},
		"wrong CA verify-full": {strings.Replace(lakebaseConn(e, ""), "SSLServerCert="+info.Lakebase.CAFile, "SSLServerCert='"+wrongCA+"'", 1), "", []string{"certificate"}},
		"server down":          {strings.Replace(lakebaseConn(e, ""), fmt.Sprintf("Port=%d", info.Lakebase.Port), "Port="+deadPort(t), 1), "", []string{"cannot connect", "refused"}},
		"outsider":             {strings.NewReplacer(info.ServicePrincipal.ClientID, info.Outsider.ClientID, info.ServicePrincipal.ClientSecret, info.Outsider.ClientSecret).Replace(lakebaseConn(e, "Instance="+info.Lakebase.Instance)), "", []string{"permission"}},
	} {
		t.Run(name, func(t *testing.T) {
			o, err := connstr.Parse(tc.conn)
			if err != nil {
				t.Fatal(err)
			}
			_, err = Connect(context.Background(), o)
			if err == nil {
				t.Fatal("connected")
			}
			var lbErr *Error
			if tc.sqlstate != "" && (!errors.As(err, &lbErr) || lbErr.SQLState != tc.sqlstate) {
				t.Errorf("error %v, want SQLSTATE %s", err, tc.sqlstate)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			for _, secret := range []string{info.ServicePrincipal.ClientSecret, info.Outsider.ClientSecret} {
				if strings.Contains(err.Error(), secret) {
					t.Error("the error holds a client secret")
				}
			}
		})
	}
}

func deadPort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return fmt.Sprint(ln.Addr().(*net.TCPAddr).Port)
}

// otherCA returns the PEM of a CA that did not sign the gateway's
// certificate.
func otherCA(t *testing.T) string {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "another CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}
