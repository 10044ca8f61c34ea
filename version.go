// Package lakelink holds what every lakelink program shares: its version.
// The core is in core/; the programs are cmd/lakelink (the CLI), capi
// (liblakelink) and wasm (lakelink.wasm).
package lakelink

import (
	_ "embed"
	"strings"
)

// versionFile is the VERSION file beside go.mod: the one place lakelink's
// version is written. The Python wheel's metadata is read from it too, and
// bindings/node/package.json must agree (version_test.go checks).
//
//go:embed VERSION
var versionFile string

// Version is lakelink's version, such as "0.1.0": what the CLI, the C
// library (lakelink_version) and the WASI module report. It is compiled
// in, so any build of this module reports it, without linker flags.
func Version() string { return strings.TrimSpace(versionFile) }
