package main

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

func (c *cli) lakebase() string {
	lb := c.em.Info().Lakebase
	return fmt.Sprintf("%s;Server=%s;Port=%d;Instance=%s;SSLMode=verify-full;SSLServerCert=%s", c.m2m(), lb.Host, lb.Port, lb.Instance, lb.CAFile)
}

func TestSQLCommand(t *testing.T) {
	c := newCLI(t)
	query := `SELECT n, repeat('é', n) AS word, NULL::int AS nothing, 1.50::numeric AS price FROM generate_series(1, 2) AS n`
	for format, want := range map[string]string{
		"table": "n | word | nothing | price\n--+------+---------+------\n1 | é    |         | 1.50\n2 | éé   |         | 1.50\n(2 rows)\n",
		"csv":   "n,word,nothing,price\n1,é,,1.50\n2,éé,,1.50\n",
		"json":  `{"n":1,"word":"é","nothing":null,"price":"1.50"}` + "\n" + `{"n":2,"word":"éé","nothing":null,"price":"1.50"}` + "\n",
	} {
		out, errOut, code := c.run(nil, "sql", "--connection", c.lakebase(), "--format", format, query)
		if code != 0 || out != want {
			t.Errorf("--format %s: exit %d\n%s%s\nwant\n%s", format, code, out, errOut, want)
		}
	}
	out, _, code := c.run(nil, "sql", "--connection", c.lakebase(), "CREATE TEMP TABLE t (n int)")
	if code != 0 || out != "CREATE TABLE\n" {
		t.Errorf("a statement without rows: %d %q", code, out)
	}
	_, errOut, code := c.run(nil, "sql", "--connection", c.lakebase(), "SELEC 1")
	if code != 1 || !strings.Contains(errOut, "SQLSTATE 42601") || !strings.Contains(errOut, c.em.Info().ServicePrincipal.ClientID) {
		t.Errorf("a syntax error: %d %s", code, errOut)
	}
	_, errOut, code = c.run(nil, "sql", "--connection", c.lakebase()+";SSLMode=disable", "SELECT 1")
	if code != 1 || !strings.Contains(errOut, "given more than once") {
		t.Errorf("a repeated key: %d %s", code, errOut)
	}
}

func TestPsqlCommand(t *testing.T) {
	c := newCLI(t)
	out, errOut, code := c.run(nil, "psql", "--connection", c.lakebase(), "--", "-X", "-A", "-t", "-c", "SELECT current_user")
	if code != 0 || strings.TrimSpace(out) != c.em.Info().ServicePrincipal.ClientID {
		t.Errorf("psql: %d %q %s", code, out, errOut)
	}
}

// TestPsqlVerifiesALakebaseHost: for a Lakebase host lakelink's default is
// verify-full against the system's roots, which psql before 16 cannot be
// told as "system": it gets the system's CA bundle file. With the
// emulator's CA as that bundle (SSL_CERT_FILE) psql logs in; with the
// real bundle, which does not hold the emulator's CA, psql refuses the
// certificate (and does not fail reading a file named "system").
func TestPsqlVerifiesALakebaseHost(t *testing.T) {
	c := newCLI(t)
	lb := c.em.Info().Lakebase
	conn := fmt.Sprintf("%s;Server=%s;Port=%d;Instance=%s", c.m2m(), lb.ServerName, lb.Port, lb.Instance)
	psql := []string{"psql", "--connection", conn, "--", "-X", "-A", "-t", "-c", "SELECT current_user"}
	at := "PGHOSTADDR=127.0.0.1" // the Lakebase-like name is checked against the certificate, not looked up
	out, errOut, code := c.run([]string{at, "SSL_CERT_FILE=" + lb.CAFile}, psql...)
	if code != 0 || strings.TrimSpace(out) != c.em.Info().ServicePrincipal.ClientID {
		t.Errorf("with the emulator's CA as the system's: %d %q %s", code, out, errOut)
	}
	_, errOut, code = c.run([]string{at, "SSL_CERT_FILE="}, psql...)
	if code == 0 || !strings.Contains(errOut, "certificate verify failed") {
		t.Errorf("with the system's CAs: exit %d, want a refused certificate: %s", code, errOut)
	}
}

// TestSQLWarnsOfAnUnverifiedToken: to a host outside Lakebase's domains
// (here 127.0.0.1) the default is SSLMode=require, and without Instance or
// Endpoint the password is the workspace token itself: the CLI says so on
// standard error, once, and still runs the statement.
func TestSQLWarnsOfAnUnverifiedToken(t *testing.T) {
	c := newCLI(t)
	lb := c.em.Info().Lakebase
	conn := fmt.Sprintf("%s;Server=%s;Port=%d", c.m2m(), lb.Host, lb.Port)
	out, errOut, code := c.run(nil, "sql", "--connection", conn, "SELECT 1 AS n")
	if code != 0 || !strings.HasPrefix(out, "n\n") {
		t.Fatalf("exit %d %q %s", code, out, errOut)
	}
	warning := fmt.Sprintf("lakelink: warning: the workspace OAuth token itself is the password for %s:%d, sent without checking its certificate", lb.Host, lb.Port)
	if strings.Count(errOut, warning) != 1 {
		t.Errorf("stderr does not warn once of the unverified workspace token:\n%s", errOut)
	}
	_, errOut, _ = c.run(nil, "sql", "--connection", c.lakebase(), "SELECT 1")
	if strings.Contains(errOut, "workspace OAuth token") {
		t.Errorf("a warning for a verified server with a minted credential: %s", errOut)
	}
}

// TestSQLJSON: --format json writes every value in its JSON form of
// TYPES.md, through the core's one mapping, and keeps repeated column
// names apart.
func TestSQLJSON(t *testing.T) {
	c := newCLI(t)
	query := `SELECT 1 AS n, 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11'::uuid AS u, interval '1 mon 2 days 3 seconds' AS i,
		time '12:34:56.789' AS t, 'NaN'::numeric AS nan, 'NaN'::float8 AS f, '\x00ff'::bytea AS b,
		timestamptz '2000-01-01 00:00:01.5+00' AS ts, ARRAY[1, NULL, 3] AS a, ARRAY[[1.5, 2]]::numeric[] AS m,
		'{"k": [1]}'::jsonb AS j, 9007199254740993::int8 AS big, 2 AS n, 3 AS n_2, 4 AS n, NULL::text AS "quote""d"`
	want := `{"n":1,"u":"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11","i":[1,2,3000000],"t":45296789000,"nan":"NaN","f":"NaN",` +
		`"b":"AP8=","ts":1500000,"a":[1,null,3],"m":[["1.5","2"]],"j":[{"k": [1]}],"big":"9007199254740993",` +
		`"n_3":2,"n_2":3,"n_4":4,"quote\"d":null}` + "\n"
	out, errOut, code := c.run(nil, "sql", "--connection", c.lakebase(), "--format", "json", query)
	if code != 0 || out != want {
		t.Errorf("exit %d\n%s%s\nwant\n%s", code, out, errOut, want)
	}
}

// TestDoctorTimeout: a workspace API that does not answer fails its check
// within the connection's Timeout, instead of holding doctor up.
func TestDoctorTimeout(t *testing.T) {
	c := newCLI(t)
	resp, err := http.Post(c.em.Info().AdminURL+"/faults", "application/json",
		strings.NewReader(`{"endpoint":"scim-me","kind":"hang","duration":"30s"}`))
	if err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("arming the fault: %v %v", err, resp.Status)
	}
	resp.Body.Close()
	start := time.Now()
	out, _, code := c.run(nil, "doctor", "--connection", c.m2m()+";Timeout=3")
	if d := time.Since(start); d > 8*time.Second {
		t.Errorf("doctor took %s with Timeout=3", d.Round(time.Second))
	}
	if code != 1 || !strings.Contains(out, "✓ token") || !strings.Contains(out, "✗ workspace API") {
		t.Errorf("doctor with a hanging workspace API: exit %d\n%s", code, out)
	}
}
