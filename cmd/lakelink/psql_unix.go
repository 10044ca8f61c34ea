//go:build unix

package main

import "syscall"

// execPsql runs psql with args and env in place of this process, which
// hands it its prompts, signals and exit code; it returns only on failure.
func execPsql(psql string, args, env []string) (exitCode int, err error) {
	return 0, syscall.Exec(psql, append([]string{"psql"}, args...), env)
}
