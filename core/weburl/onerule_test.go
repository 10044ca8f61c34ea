package weburl

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
)

// TestOneLoopbackRule: IsLoopback is lakelink's one rule for telling the
// local machine by a host's spelling. No other Go file of the module asks
// an address itself (net.IP's or netip.Addr's IsLoopback method), which
// would be a second rule that can differ from this one.
func TestOneLoopbackRule(t *testing.T) {
	root := filepath.Join("..", "..")
	self := filepath.Join(root, "core", "weburl")
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); path != root && (strings.HasPrefix(name, ".") || name == "node_modules" || name == "build" || name == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") || filepath.Dir(path) == self {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			if call, ok := n.(*ast.CallExpr); ok {
				if sel, ok := call.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == "IsLoopback" && len(call.Args) == 0 {
					t.Errorf("%s: asks an address whether it is loopback; use weburl.IsLoopback, the one rule", fset.Position(call.Pos()))
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
