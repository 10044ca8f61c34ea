package main

import (
	"errors"
	"os"
	"os/exec"
	"os/signal"
)

// execPsql runs psql with args and env as a child on this console (Windows
// cannot replace a process) and returns its exit code. Ctrl+C reaches psql
// from the console; this process ignores it while psql runs.
func execPsql(psql string, args, env []string) (exitCode int, err error) {
	cmd := exec.Command(psql, args...)
	cmd.Env, cmd.Stdin, cmd.Stdout, cmd.Stderr = env, os.Stdin, os.Stdout, os.Stderr
	signal.Ignore(os.Interrupt)
	defer signal.Reset(os.Interrupt)
	err = cmd.Run()
	if exit := (*exec.ExitError)(nil); errors.As(err, &exit) {
		return exit.ExitCode(), nil
	}
	return 0, err
}
