package main

import (
	"go/ast"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// cFunction is a function of lakelink.h: its return type and its
// parameters' types, spelled without a space before '*' ("const char*").
type cFunction struct {
	ret    string
	params []string
}

var (
	cComment  = regexp.MustCompile(`(?s)/\*.*?\*/`)
	cFunc     = regexp.MustCompile(`(?m)^([A-Za-z][\w ]*?[\s*]+)(lakelink_\w+)\(([^)]*)\);`)
	cParam    = regexp.MustCompile(`^(.*?)\s*\w+$`)
	cSpacePtr = regexp.MustCompile(`\s*\*`)
	cDefinedC = regexp.MustCompile(`(?m)^[A-Za-z][\w ]*?[\s*]+(lakelink_\w+)\([^)]*\)\s*\{`)
)

// headerFunctions reads lakelink.h's function prototypes.
func headerFunctions(t *testing.T) map[string]cFunction {
	t.Helper()
	b, err := os.ReadFile("lakelink.h")
	if err != nil {
		t.Fatal(err)
	}
	fns := map[string]cFunction{}
	for _, m := range cFunc.FindAllStringSubmatch(cComment.ReplaceAllString(string(b), " "), -1) {
		var params []string
		if list := strings.TrimSpace(m[3]); list != "" && list != "void" {
			for _, p := range strings.Split(list, ",") {
				pm := cParam.FindStringSubmatch(strings.Join(strings.Fields(p), " "))
				if pm == nil {
					t.Fatalf("lakelink.h: cannot read the parameter %q of %s", p, m[2])
				}
				params = append(params, cSpacePtr.ReplaceAllString(pm[1], "*"))
			}
		}
		fns[m[2]] = cFunction{ret: cSpacePtr.ReplaceAllString(strings.TrimSpace(m[1]), "*"), params: params}
	}
	if len(fns) < 25 || len(fns["lakelink_query"].params) != 13 {
		t.Fatalf("read %d functions from lakelink.h: the parsing is broken", len(fns))
	}
	return fns
}

// cTypeOf is the lakelink.h type of a Go type of an export: *C.char is
// "const char*" (the library never writes through a pointer it is given,
// but an out-parameter's pointee), **C.char "char**", C.int32_t "int32_t",
// unsafe.Pointer "void*".
func cTypeOf(e ast.Expr) string {
	stars := 0
	for {
		s, ok := e.(*ast.StarExpr)
		if !ok {
			break
		}
		stars++
		e = s.X
	}
	sel, ok := e.(*ast.SelectorExpr)
	if !ok {
		return "(not a C type)"
	}
	base := sel.Sel.Name
	switch pkg := sel.X.(*ast.Ident).Name; {
	case pkg == "unsafe" && base == "Pointer":
		base, stars = "void", stars+1
	case pkg != "C":
		return "(not a C type: " + pkg + "." + base + ")"
	}
	if stars == 1 && (base == "char" || base == "uint8_t") {
		return "const " + base + "*"
	}
	return base + strings.Repeat("*", stars)
}

// TestExportsHaveTheHeadersSignatures: every function lakelink.h declares
// is exported (an //export in capi, or defined in a .c file of it), and
// every //export has the header's return and parameter types, in order.
// Since the package is compiled with LAKELINK_TYPES_ONLY (cgo's own
// declarations of the exports spell the types differently), the C compiler
// does not check this.
func TestExportsHaveTheHeadersSignatures(t *testing.T) {
	header := headerFunctions(t)
	defined := map[string]bool{}
	cFiles, err := filepath.Glob("*.c")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range cFiles {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range cDefinedC.FindAllStringSubmatch(cComment.ReplaceAllString(string(b), " "), -1) {
			defined[m[1]] = true
		}
	}
	fset, fns := exportedFuncs(t)
	for _, fn := range fns {
		defined[fn.Name.Name] = true
		want, ok := header[fn.Name.Name]
		if !ok {
			t.Errorf("%s: %s is exported but not in lakelink.h", fset.Position(fn.Pos()), fn.Name.Name)
			continue
		}
		var got cFunction
		got.ret = "void"
		if res := fn.Type.Results; res != nil && len(res.List) == 1 {
			got.ret = cTypeOf(res.List[0].Type)
		}
		for _, p := range fn.Type.Params.List {
			for range max(1, len(p.Names)) {
				got.params = append(got.params, cTypeOf(p.Type))
			}
		}
		if strings.Join(got.params, ", ") != strings.Join(want.params, ", ") || got.ret != want.ret {
			t.Errorf("%s: %s is %s (%s) in Go, but %s (%s) in lakelink.h", fset.Position(fn.Pos()), fn.Name.Name,
				got.ret, strings.Join(got.params, ", "), want.ret, strings.Join(want.params, ", "))
		}
	}
	for name := range header {
		if !defined[name] {
			t.Errorf("lakelink.h declares %s, but capi neither exports it nor defines it in C", name)
		}
	}
}
