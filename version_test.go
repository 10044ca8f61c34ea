package lakelink

import (
	"encoding/json"
	"os"
	"regexp"
	"testing"
)

// The VERSION file is a plain semantic version, and the npm package's
// package.json and package-lock.json carry the same (npm needs it written
// there; `npm pack` refuses a package.json that differs).
func TestVersionIsOneSemanticVersionThatPackageJSONCarries(t *testing.T) {
	v := Version()
	if !regexp.MustCompile(`^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$`).MatchString(v) {
		t.Fatalf("VERSION holds %q, not a version such as 0.1.0", v)
	}
	const fix = "edit VERSION only, then run `npm version --no-git-tag-version --allow-same-version \"$(cat ../../VERSION)\"` in bindings/node"
	var pkg struct {
		Version string `json:"version"`
	}
	readJSON(t, "bindings/node/package.json", &pkg)
	if pkg.Version != v {
		t.Errorf("bindings/node/package.json has version %q, VERSION %q: %s", pkg.Version, v, fix)
	}
	var lock struct {
		Version  string `json:"version"`
		Packages map[string]struct {
			Version string `json:"version"`
		} `json:"packages"`
	}
	readJSON(t, "bindings/node/package-lock.json", &lock)
	if lock.Version != v || lock.Packages[""].Version != v {
		t.Errorf("bindings/node/package-lock.json has version %q (and %q for the package), VERSION %q: %s",
			lock.Version, lock.Packages[""].Version, v, fix)
	}
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}
