package auth

import (
	"context"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/databricks/databricks-sdk-go/apierr"
	"golang.org/x/oauth2"
)

// TestSDKErrorKeepsWhatUsersNeed: status, error code and the API's
// message; never a body, a request log or a secret.
func TestSDKErrorKeepsWhatUsersNeed(t *testing.T) {
	const secret = "SECRETtok9"
	for _, c := range []struct {
		in   error
		want string
	}{
		{&apierr.APIError{StatusCode: 403, ErrorCode: "PERMISSION_DENIED", Message: "no access to instance db"},
			"the API: HTTP 403 PERMISSION_DENIED: no access to instance db"},
		{&apierr.APIError{StatusCode: 502, ErrorCode: "UNKNOWN", Message: `{"token": "` + secret + `"}`},
			"the API: HTTP 502: the answer is not a Databricks error document"},
		{fmt.Errorf("failed to unmarshal response body: %w. This is likely a bug in the Databricks SDK for Go. Request log:\n```\n< {\"token\": \"%s\", \"expiration_time\": \n```",
			errors.New("unexpected end of JSON input"), secret), "the API: failed to unmarshal response body: unexpected end of JSON input"},
		{&oauth2.RetrieveError{Response: &http.Response{StatusCode: 401}, Body: []byte(`{"access_token":"` + secret + `"}`), ErrorCode: "invalid_client",
			ErrorDescription: "bad secret"}, "the API: HTTP 401 invalid_client: bad secret"},
		{fmt.Errorf("wrapped: %w", context.DeadlineExceeded), "the API: wrapped: context deadline exceeded"},
		{errors.New("GET http://u:" + secret + "@h/x: Bearer " + secret), "the API: GET http://u:***@h/x: Bearer ***"},
	} {
		err := SDKError("the API", c.in)
		if got := err.Error(); got != c.want {
			t.Errorf("SDKError(%q)\n = %q\nwant %q", c.in, got, c.want)
		}
		var apiErr *APIError
		if !errors.As(err, &apiErr) || errors.Unwrap(err) != nil && !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("SDKError(%q) = %T, unwrapping to %v", c.in, err, errors.Unwrap(err))
		}
	}
	if !errors.Is(SDKError("x", fmt.Errorf("y: %w", context.Canceled)), context.Canceled) {
		t.Error("a cancelled call's error is not context.Canceled")
	}
	own := &OAuthError{Status: 401, Code: "invalid_client"}
	if err := SDKError("x", fmt.Errorf("sdk: %w", &ownError{own})); err != own {
		t.Errorf("lakelink's own error through the SDK = %v, want it as it is", err)
	}
}

// sdkCallers are the only files that may import databricks-sdk-go, besides
// the emulator (which serves its API): each returns the SDK's errors
// through SDKError.
var sdkCallers = map[string]bool{"core/auth/sdk.go": true, "core/auth/sdkerror.go": true, "core/lakebase/databricks.go": true,
	"core/lakebase/databricks_wasip1.go": true}

// TestSDKIsCalledFromOneFileEach: no other file imports databricks-sdk-go,
// and those that do never return an SDK error as it is (return ..., err).
func TestSDKIsCalledFromOneFileEach(t *testing.T) {
	root := filepath.Join("..", "..")
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if rel == "core/emulator" || rel == "bindings" || rel == "bench" || rel != "." && strings.HasPrefix(d.Name(), ".") || d.Name() == "node_modules" {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		imports := false
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			imports = imports || strings.HasPrefix(p, "github.com/databricks/databricks-sdk-go")
		}
		if imports && !sdkCallers[rel] {
			t.Errorf("%s imports databricks-sdk-go: call the SDK from %v, which turn its errors into lakelink errors", rel, sdkCallers)
		}
		if !sdkCallers[rel] {
			return nil
		}
		ast.Inspect(f, func(n ast.Node) bool {
			if r, ok := n.(*ast.ReturnStmt); ok {
				for _, e := range r.Results {
					if id, ok := e.(*ast.Ident); ok && id.Name == "err" {
						t.Errorf("%s: returns err as it is: pass it through SDKError", fset.Position(r.Pos()))
					}
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

// TestUnifiedAuthErrorsShowNoSecret: AuthScheme=Databricks, whose tokens
// databricks-sdk-go gets, meets a token endpoint that answers a token cut
// short, then one that refuses with a body holding a token: the errors
// say what happened and show neither token.
func TestUnifiedAuthErrorsShowNoSecret(t *testing.T) {
	const secret = "SECRETsdkToken5150"
	e := shared
	for _, f := range []string{
		`{"endpoint":"token","kind":"malformed","count":20,"body":"{\"access_token\": \"` + secret + `\", \"expires_in\": "}`,
		`{"endpoint":"token","kind":"500","count":20}`,
	} {
		clearFaults(t, e)
		fault(t, e, f)
		src, err := NewTokenSource(parse(t, "%s;Timeout=3", strings.Replace(m2m(e), "AuthScheme=OAuthClient", "AuthScheme=Databricks", 1)))
		if err != nil {
			t.Fatal(err)
		}
		_, err = src.Token()
		if err == nil {
			t.Fatalf("a token despite %s", f)
		}
		if msg := err.Error(); strings.Contains(msg, secret) || strings.Contains(msg, "Request log") || strings.Contains(msg, e.Info().ServicePrincipal.ClientSecret) {
			t.Errorf("the error shows a secret: %s", msg)
		}
		var apiErr *APIError
		if !errors.As(err, &apiErr) {
			t.Errorf("%T %v, want an *APIError", err, err)
		}
		t.Log(err)
	}
	clearFaults(t, e)
}
