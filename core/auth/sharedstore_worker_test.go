package auth

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/lakelink/lakelink/core/connstr"
)

// refreshWorkerEnv carries, to a child process, the connection strings it
// takes tokens for, one per line, and how long to go on (see
// refreshWorker).
const (
	refreshWorkerEnv    = "LAKELINK_TEST_REFRESH_WORKER"
	refreshWorkerForEnv = "LAKELINK_TEST_REFRESH_WORKER_FOR"
)

// refreshWorkerReport is what a refresh worker prints.
type refreshWorkerReport struct {
	Tokens int      `json:"tokens"`
	Errors []string `json:"errors"`
}

// refreshWorker takes a token for each connection string over and over
// until the time is up, then prints a refreshWorkerReport.
func refreshWorker() int {
	d, err := time.ParseDuration(os.Getenv(refreshWorkerForEnv))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	var sources []*Source
	for _, conn := range strings.Split(os.Getenv(refreshWorkerEnv), "\n") {
		o, err := connstr.Parse(conn)
		if err == nil {
			var s *Source
			s, err = NewTokenSource(o)
			sources = append(sources, s)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	var report refreshWorkerReport
	for deadline := time.Now().Add(d); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		for _, s := range sources {
			if _, err := s.Token(); err != nil {
				report.Errors = append(report.Errors, err.Error())
			} else {
				report.Tokens++
			}
		}
	}
	json.NewEncoder(os.Stdout).Encode(report)
	return 0
}
