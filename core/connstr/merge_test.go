package connstr

import (
	"strings"
	"testing"
)

func TestMerge(t *testing.T) {
	for _, tc := range []struct {
		base      string
		overrides map[string]string
		want      string // the merged options, normalized with secrets shown
	}{
		{"Host=a;OAuthClientSecret='x;y'", map[string]string{"host": "https://b"}, "Host=https://b;OAuthClientSecret='x;y'"},
		{"DatabricksInstance=a;Port=1", map[string]string{"Host": "h"}, "Host=h;Port=1"},
		{"Port=1", map[string]string{"Password": "it's;x", "User": " a "}, "User=' a ';Password='it''s;x';Port=1"},
		{"Port=1;Database=x", map[string]string{"database": ""}, "Port=1"},
		{"", nil, ""},
	} {
		got, err := Merge(tc.base, tc.overrides)
		if err != nil {
			t.Fatalf("Merge(%q, %v): %v", tc.base, tc.overrides, err)
		}
		want, _ := Parse(tc.want)
		have, err := Parse(got)
		if err != nil || have.Format() != want.Format() {
			t.Errorf("Merge(%q, %v) = %q, want the options of %q", tc.base, tc.overrides, got, tc.want)
		}
	}
	for _, tc := range []struct {
		base      string
		overrides map[string]string
		want      string
	}{
		{"Port=1", map[string]string{"Host": "a", "DatabricksInstance": "b"}, "given more than once"},
		{"Port=1", map[string]string{"Prot": "2"}, `did you mean "Port"`},
		{"Port=1", map[string]string{"Port": "x"}, `"Port"`},
		{"Port=", map[string]string{"OAuthClientSecret": "s3cret-value;Port=x"}, ""},
		{"Prt=1", map[string]string{"Port": "2"}, "unknown key"},
	} {
		_, err := Merge(tc.base, tc.overrides)
		if tc.want == "" {
			if err != nil && strings.Contains(err.Error(), "s3cret-value") {
				t.Errorf("an error shows a secret: %v", err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Merge(%q, %v): %v, want an error mentioning %s", tc.base, tc.overrides, err, tc.want)
		}
	}
}

func TestMergeNullable(t *testing.T) {
	host := "https://b"
	got, err := MergeNullable("Host=a;Port=1;Database=x", map[string]*string{"host": &host, "Database": nil})
	if err != nil {
		t.Fatal(err)
	}
	want, _ := Parse("Host=https://b;Port=1")
	if have, err := Parse(got); err != nil || have.Format() != want.Format() {
		t.Errorf("MergeNullable = %q, want the options of %q", got, "Host=https://b;Port=1")
	}
}
