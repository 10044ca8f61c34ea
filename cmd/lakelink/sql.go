package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/spf13/cobra"

	"github.com/lakelink/lakelink/core/lakebase"
)

func newSQLCommand() *cobra.Command {
	var c connectionFlags
	var format string
	cmd := &cobra.Command{
		Use:   `sql "SQL"`,
		Short: "run one SQL statement on Lakebase and print the result",
		Long: `Runs one statement on Lakebase (Server, Instance or Endpoint, ... in the connection string) with a
credential minted for the connection's identity, and prints the rows: an aligned table by default.
--format csv prints the values as psql shows them; --format json prints one JSON object per row, keyed by
column name (a repeated name gets a suffix: n, n_2), each value in its JSON form of TYPES.md.`,
		Example: `  lakelink sql "SELECT current_user, now()" --format json`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) != 1 {
				return errors.New(`give exactly one SQL statement, quoted: lakelink sql "SELECT 1"`)
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			return exit(runSQL(&c, format, args[0], cmd.OutOrStdout(), cmd.ErrOrStderr()))
		},
	}
	c.register(cmd.Flags())
	cmd.Flags().StringVar(&format, "format", "table", "output: table, csv or json")
	cmd.RegisterFlagCompletionFunc("format", cobra.FixedCompletions([]string{"table", "csv", "json"}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

func runSQL(c *connectionFlags, format, statement string, stdout, stderr io.Writer) int {
	if format != "table" && format != "csv" && format != "json" {
		fmt.Fprintf(stderr, "lakelink sql: --format %q: want table, csv or json\n", format)
		return 2
	}
	o, err := c.options(stderr)
	if err != nil {
		return fail(stderr, "sql", err)
	}
	ctx := context.Background()
	conn, err := lakebase.Open(ctx, o) // one session for one statement: no pool
	if err != nil {
		return fail(stderr, "sql", err)
	}
	defer conn.Close()
	var args2 []any
	if format != "json" { // the server's own text form of every value, as psql shows it
		args2 = append(args2, pgx.QueryResultFormats{pgx.TextFormatCode})
	}
	r, err := conn.Execute(ctx, statement, args2...)
	if err != nil {
		return fail(stderr, "sql", err)
	}
	defer r.Close()
	switch format {
	case "json":
		err = printJSON(stdout, r)
	case "csv":
		err = printCSV(stdout, r)
	default:
		err = printTable(stdout, r)
	}
	if err != nil {
		return fail(stderr, "sql", err)
	}
	return 0
}

// textRows reads every row as the server's text (nil for NULL).
func textRows(r *lakebase.Result) ([][]*string, error) {
	var out [][]*string
	for r.Next() {
		raw := r.RawValues()
		row := make([]*string, len(raw))
		for i, v := range raw {
			if v != nil {
				s := string(v)
				row[i] = &s
			}
		}
		out = append(out, row)
	}
	return out, r.Err()
}

func printTable(w io.Writer, r *lakebase.Result) error {
	cols := r.Columns()
	rows, err := textRows(r)
	if err != nil {
		return err
	}
	if len(cols) == 0 {
		fmt.Fprintln(w, r.CommandTag())
		return nil
	}
	widths := make([]int, len(cols))
	for i, c := range cols {
		widths[i] = utf8.RuneCountInString(c.Name)
	}
	for _, row := range rows {
		for i, v := range row {
			if v != nil {
				widths[i] = max(widths[i], utf8.RuneCountInString(*v))
			}
		}
	}
	line := func(cells []string) {
		var b strings.Builder
		for i, s := range cells {
			if i > 0 {
				b.WriteString(" | ")
			}
			b.WriteString(s + strings.Repeat(" ", widths[i]-utf8.RuneCountInString(s)))
		}
		fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
	}
	header := make([]string, len(cols))
	rule := make([]string, len(cols))
	for i, c := range cols {
		header[i], rule[i] = c.Name, strings.Repeat("-", widths[i])
	}
	line(header)
	fmt.Fprintln(w, strings.Join(rule, "-+-"))
	for _, row := range rows {
		cells := make([]string, len(row))
		for i, v := range row {
			if v != nil {
				cells[i] = *v
			}
		}
		line(cells)
	}
	noun := "rows"
	if len(rows) == 1 {
		noun = "row"
	}
	fmt.Fprintf(w, "(%d %s)\n", len(rows), noun)
	return nil
}

func printCSV(w io.Writer, r *lakebase.Result) error {
	rows, err := textRows(r)
	if err != nil {
		return err
	}
	out := csv.NewWriter(w)
	header := []string{}
	for _, c := range r.Columns() {
		header = append(header, c.Name)
	}
	out.Write(header)
	for _, row := range rows {
		cells := make([]string, len(row))
		for i, v := range row {
			if v != nil {
				cells[i] = *v
			}
		}
		out.Write(cells)
	}
	out.Flush()
	return out.Error()
}

// printJSON prints one JSON object per row (JSON Lines), its keys the
// columns' names in order, its values in their JSON forms (TYPES.md): an
// int8 or numeric is a string, a timestamp microseconds since 2000-01-01.
// A name that repeats an earlier column's gets a suffix: "n", "n_2".
func printJSON(w io.Writer, r *lakebase.Result) error {
	cols := r.Columns()
	keys := jsonKeys(cols)
	var line []byte
	for row := 1; r.Next(); row++ {
		values, err := r.Values()
		if err != nil {
			return err
		}
		line = append(line[:0], '{')
		for i, c := range cols {
			if i > 0 {
				line = append(line, ',')
			}
			line = append(line, keys[i]...)
			line = append(line, ':')
			if line, err = lakebase.AppendJSON(line, c, values[i]); err != nil {
				return fmt.Errorf("row %d, column %q: %w", row, c.Name, err)
			}
		}
		line = append(line, '}', '\n')
		if _, err := w.Write(line); err != nil {
			return err
		}
	}
	return r.Err()
}

// jsonKeys returns the JSON-encoded object key of each column: its name,
// or, for a name an earlier column has, the name with the first free
// suffix _2, _3, ….
func jsonKeys(cols []lakebase.Column) [][]byte {
	taken := map[string]bool{}
	for _, c := range cols {
		taken[c.Name] = true
	}
	seen := map[string]bool{}
	keys := make([][]byte, len(cols))
	for i, c := range cols {
		key := c.Name
		if seen[key] {
			for n := 2; taken[key]; n++ {
				key = fmt.Sprintf("%s_%d", c.Name, n)
			}
			taken[key] = true
		}
		seen[c.Name] = true
		keys[i], _ = json.Marshal(key)
	}
	return keys
}

func newPsqlCommand() *cobra.Command {
	var c connectionFlags
	cmd := &cobra.Command{
		Use:   "psql [-- psql arguments]",
		Short: "run psql against Lakebase with a freshly minted credential",
		Long: `Runs the installed psql against Lakebase with a credential minted for the connection's identity in
PGPASSWORD and the connection's SSL mode in PGSSLMODE, like ` + "`databricks psql`" + `. The arguments after --
go to psql.`,
		Example: "  lakelink psql -- -c 'select 1'",
		Args:    cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return exit(runPsql(&c, args, cmd.OutOrStdout(), cmd.ErrOrStderr()))
		},
	}
	c.register(cmd.Flags())
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
		return fmt.Errorf("%w (psql's own arguments go after --: lakelink psql -- -c 'select 1')", err)
	})
	return cmd
}

// runPsql runs psql with args in place of this process.
func runPsql(c *connectionFlags, args []string, stdout, stderr io.Writer) int {
	psql, err := exec.LookPath("psql")
	if err != nil {
		return fail(stderr, "psql", fmt.Errorf("psql is not installed (Debian: apt-get install postgresql-client)"))
	}
	o, err := c.options(stderr)
	if err != nil {
		return fail(stderr, "psql", err)
	}
	login, err := lakebase.Login(context.Background(), o)
	if err != nil {
		return fail(stderr, "psql", err)
	}
	env := append(os.Environ(), "PGHOST="+login.Host, "PGPORT="+strconv.Itoa(login.Port), "PGDATABASE="+login.Database,
		"PGUSER="+login.User, "PGPASSWORD="+login.Password, "PGSSLMODE="+login.SSLMode)
	if login.SSLRootCert != "" {
		env = append(env, "PGSSLROOTCERT="+login.SSLRootCert)
	}
	if login.ApplicationName != "" {
		env = append(env, "PGAPPNAME="+login.ApplicationName)
	}
	code, err := execPsql(psql, args, env)
	if err != nil {
		return fail(stderr, "psql", err)
	}
	return code
}
