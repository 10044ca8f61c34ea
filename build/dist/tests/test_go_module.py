"""Go users: a fresh module that replaces github.com/lakelink/lakelink with the checkout `go get`s the core's packages,
builds a program importing them, and the program queries the emulator. Offline: GOPROXY=off with the module cache the
checkout's build filled (GOSUMDB=off, since with no proxy the checksum database cannot be asked; the cache's modules
were checked when they were downloaded)."""

from __future__ import annotations

from pathlib import Path

from conftest import REPO, VERSION, run

PROGRAM = """package main

import (
	"context"
	"fmt"
	"os"

	"github.com/lakelink/lakelink"
	"github.com/lakelink/lakelink/core/connstr"
	"github.com/lakelink/lakelink/core/lakebase"
)

func main() {
	ctx := context.Background()
	o, err := connstr.Parse(os.Getenv("LAKELINK_TEST_CONN"))
	if err != nil {
		panic(err)
	}
	pool, err := lakebase.Connect(ctx, o)
	if err != nil {
		panic(err)
	}
	defer pool.Close()
	r, err := pool.Query(ctx, "SELECT 41 + $1::int", 1)
	if err != nil {
		panic(err)
	}
	defer r.Close()
	for r.Next() {
		v, err := r.Values()
		if err != nil {
			panic(err)
		}
		fmt.Println(lakelink.Version(), v[0])
	}
}
"""


def test_a_module_replacing_lakelink_gets_builds_and_queries(outside: Path, lakebase_conn: str) -> None:
    offline = {"GOFLAGS": "-mod=mod", "GOPROXY": "off", "GOSUMDB": "off", "GOTOOLCHAIN": "local", "GOWORK": "off"}
    run(["go", "mod", "init", "example.com/app"], cwd=outside, **offline)
    run(["go", "mod", "edit", f"-replace=github.com/lakelink/lakelink={REPO}"], cwd=outside, **offline)
    (outside / "main.go").write_text(PROGRAM)
    run(["go", "get", "github.com/lakelink/lakelink/core/lakebase", "github.com/lakelink/lakelink/core/connstr",
         "github.com/lakelink/lakelink"], cwd=outside, **offline)
    assert "github.com/lakelink/lakelink v0.0.0-" in (outside / "go.mod").read_text()
    run(["go", "build", "-o", "app", "."], cwd=outside, **offline)
    out = run([outside / "app"], cwd=outside, LAKELINK_TEST_CONN=lakebase_conn)
    assert out.split() == [VERSION, "42"]
