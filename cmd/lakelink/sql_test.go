package main

import (
	"fmt"
	"strings"
	"testing"
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
		"json":  `{"n":1,"nothing":null,"price":1.50,"word":"é"}` + "\n" + `{"n":2,"nothing":null,"price":1.50,"word":"éé"}` + "\n",
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
