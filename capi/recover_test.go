package main

import (
	"context"
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"unsafe"

	"github.com/lakelink/lakelink/core/apps"
	"github.com/lakelink/lakelink/internal/ops"
)

// A Go test file cannot use cgo, so these tests name no C type: callWith
// lets the compiler infer the types of call's error out-parameter and
// status from call itself, and errorFields reads the C struct by
// reflection.

// callWith runs f (which is call) with a fresh error out-parameter.
func callWith[E any, S any](f func(*E, func() error) S, body func() error) (S, E) {
	var e E
	return f(&e, body), e
}

// errorFields reads a *lakelink_error: its code and its strings.
func errorFields(t *testing.T, e any) (code int64, message, sqlstate, diagnosis, kind string) {
	t.Helper()
	v := reflect.ValueOf(e)
	if v.IsNil() {
		t.Fatal("*err is NULL")
	}
	s := v.Elem()
	str := func(name string) string {
		p := s.FieldByName(name).UnsafePointer()
		if p == nil {
			t.Fatalf("err->%s is NULL", name)
		}
		n := 0
		for *(*byte)(unsafe.Add(p, n)) != 0 {
			n++
		}
		return string(unsafe.Slice((*byte)(p), n))
	}
	return s.FieldByName("code").Int(), str("message"), str("sqlstate"), str("diagnosis"), str("kind")
}

// TestCallRecoversPanics: a panic inside an export's body becomes
// LAKELINK_ERR_INTERNAL with the error filled in, instead of unwinding
// into C (which aborts the host process).
func TestCallRecoversPanics(t *testing.T) {
	for name, body := range map[string]func() error{
		"panic with a string": func() error { panic("boom") },
		"panic with an error": func() error { panic(errors.New("kaboom")) },
		"nil map write": func() error {
			var m map[string]int
			m["x"] = 1
			return nil
		},
		"nil pointer": func() error {
			var p *struct{ x int }
			return errors.New(string(rune(p.x)))
		},
		"index out of range": func() error {
			s := []int{}
			i := len(s) + 1
			return errors.New(string(rune(s[i])))
		},
	} {
		t.Run(name, func(t *testing.T) {
			status, e := callWith(call, body)
			if status != statusInternal {
				t.Fatalf("status %d, want LAKELINK_ERR_INTERNAL (%d)", status, statusInternal)
			}
			code, msg, sqlstate, diagnosis, kind := errorFields(t, e)
			if code != int64(statusInternal) {
				t.Errorf("err->code %d", code)
			}
			if !strings.HasPrefix(msg, "lakelink internal error (a bug; please report it): ") {
				t.Errorf("message %q", msg)
			}
			if sqlstate != "" || diagnosis != "" || kind != "" {
				t.Errorf("other fields set: %q %q %q", sqlstate, diagnosis, kind)
			}
			t.Logf("%s", msg)
			lakelink_error_free(e)
		})
	}
}

// TestCallRecoversPanicsWithoutErr: with err NULL the status still comes
// back.
func TestCallRecoversPanicsWithoutErr(t *testing.T) {
	if status := call(nil, func() error { panic("boom") }); status != statusInternal {
		t.Fatalf("status %d, want %d", status, statusInternal)
	}
}

// TestStatusesAreFailureCodes: call returns internal/ops's codes as
// statuses, so they must be lakelink.h's.
func TestStatusesAreFailureCodes(t *testing.T) {
	for _, c := range []struct {
		code   ops.Code
		status int
	}{
		{ops.OK, statusOK}, {ops.InvalidArgument, statusInvalidArgument},
		{ops.InvalidHandle, statusInvalidHandle}, {ops.ConnectionString, statusConnectionString},
		{ops.Auth, statusAuth}, {ops.Database, statusDatabase}, {ops.App, statusApp},
		{ops.Internal, statusInternal},
	} {
		if int(c.code) != c.status {
			t.Errorf("failure code %d, lakelink.h status %d", c.code, c.status)
		}
	}
}

// TestCallStatuses: call's other paths: OK clears *err, errors map to
// their status.
func TestCallStatuses(t *testing.T) {
	status, e := callWith(call, func() error { return nil })
	if status != statusOK || !reflect.ValueOf(e).IsNil() {
		t.Fatalf("OK: status %d, err %v", status, e)
	}
	for _, c := range []struct {
		err  error
		want int
	}{
		{&ops.ArgumentError{Message: "x is NULL"}, statusInvalidArgument},
		{&ops.HandleError{Message: "handle 0 is never valid"}, statusInvalidHandle},
		{errors.New("something no operation classified: a bug"), statusInternal},
		{opsError(ops.Normalize(context.Background(), ops.Conn{Conn: "AuthScheme=Nope"})), statusConnectionString},
		{&apps.ArgumentError{Message: "apps: the app URL is empty"}, statusInvalidArgument},
		{errors.Join(&ops.ArgumentError{Message: "a is NULL"}, &ops.ArgumentError{Message: "b is NULL"}), statusInvalidArgument},
	} {
		status, e := callWith(call, func() error { return c.err })
		if int(status) != c.want {
			t.Errorf("%v: status %d, want %d", c.err, status, c.want)
		}
		_, msg, _, _, _ := errorFields(t, e)
		if strings.ContainsAny(msg, "\r\n") {
			t.Errorf("%v: the message is not one line: %q", c.err, msg)
		}
		lakelink_error_free(e)
	}
}

// opsError is the error of an operation's answer.
func opsError[T any](_ T, err error) error { return err }

// TestEveryExportRecovers: every exported function's body is a single
// return of call(...) or onConnection(...) (which uses call), so that
// every one recovers panics, except the three that cannot fail
// (lakelink_free, which cannot fail either, is plain C: free.c).
func TestEveryExportRecovers(t *testing.T) {
	cannotFail := map[string]bool{"lakelink_version": true, "lakelink_abi_version": true,
		"lakelink_error_free": true}
	fset, fns := exportedFuncs(t)
	exports := len(fns)
	for _, fn := range fns {
		if cannotFail[fn.Name.Name] {
			continue
		}
		if !recovers(fn) {
			t.Errorf("%s: %s's body is not `return call(...)` or `return onConnection(...)`: a panic in it would abort the host",
				fset.Position(fn.Pos()), fn.Name.Name)
		}
	}
	if exports < 20 {
		t.Fatalf("found %d exports: the parsing is broken", exports)
	}
}

// exportedFuncs parses the package's Go files (not its tests) and returns
// the functions with an //export directive.
func exportedFuncs(t *testing.T) (*token.FileSet, []*ast.FuncDecl) {
	t.Helper()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	var fns []*ast.FuncDecl
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.ParseComments)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			if fn, ok := d.(*ast.FuncDecl); ok && hasExportDirective(fn) {
				fns = append(fns, fn)
			}
		}
	}
	return fset, fns
}

func hasExportDirective(fn *ast.FuncDecl) bool {
	if fn.Doc == nil {
		return false
	}
	for _, c := range fn.Doc.List {
		if strings.HasPrefix(c.Text, "//export ") {
			return true
		}
	}
	return false
}

func recovers(fn *ast.FuncDecl) bool {
	if len(fn.Body.List) != 1 {
		return false
	}
	ret, ok := fn.Body.List[0].(*ast.ReturnStmt)
	if !ok || len(ret.Results) != 1 {
		return false
	}
	c, ok := ret.Results[0].(*ast.CallExpr)
	if !ok {
		return false
	}
	id, ok := c.Fun.(*ast.Ident)
	return ok && (id.Name == "call" || id.Name == "onConnection")
}
