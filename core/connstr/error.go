package connstr

import (
	"fmt"
	"strings"
)

// Error is the error of Parse and Options.Set: a malformed connection
// string, an unknown key, or a value not allowed for its key.
//
// No Error ever holds a secret value. Nor does it hold text that might be
// one: a segment without "=" is named by its position (and the key before
// it), never quoted; an unknown key is quoted only if it looks like a key
// name; and an error right after a secret key's value shows nothing of
// that segment, because an unquoted secret holding ";" runs into it.
type Error struct {
	// Key is the canonical name of the key at fault, or the key as written
	// when it is unknown. It is "" when the error concerns no key that can
	// be named, such as a segment without "=".
	Key string
	// Msg describes the error, naming the key itself, the allowed values,
	// and where it helps the fix.
	Msg string
}

// Error returns "connection string: " followed by Msg, for example
// `connection string: key "Port": "abc" is not a whole number between 1 and 65535`.
func (e *Error) Error() string { return "connection string: " + e.Msg }

// keyError returns an Error about the known key name.
func keyError(name, format string, args ...any) *Error {
	return &Error{Key: name, Msg: fmt.Sprintf("key %q: ", name) + fmt.Sprintf(format, args...)}
}

// looksLikeKey reports whether an unknown key may be shown in an error:
// up to 64 letters, digits, spaces, "_", "-" and ".". Anything else, such
// as a URL with a password in it, is not shown.
func looksLikeKey(key string) bool {
	if key == "" || len(key) > 64 {
		return false
	}
	for _, r := range key {
		if !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || strings.ContainsRune(" _-.", r)) {
			return false
		}
	}
	return true
}

// suggest returns the known key spelling (canonical name or alias) closest
// to key by case-insensitive Levenshtein distance, or "" when none is close:
// within 2 edits, or a third of key's length, and fewer edits than key has
// characters.
func suggest(key string) string {
	k := []rune(strings.ToLower(key))
	best, bestD := "", -1
	for i := range properties {
		for _, s := range append([]string{properties[i].name}, properties[i].aliases...) {
			if d := levenshtein(k, []rune(strings.ToLower(s))); bestD < 0 || d < bestD {
				best, bestD = s, d
			}
		}
	}
	if bestD < len(k) && (bestD <= 2 || 3*bestD <= len(k)) {
		return best
	}
	return ""
}

// levenshtein returns the edit distance between a and b: the fewest
// insertions, deletions and substitutions of single runes that turn a into b.
func levenshtein(a, b []rune) int {
	row := make([]int, len(b)+1) // distances from a[:i] to b[:j], for each j
	for j := range row {
		row[j] = j
	}
	for i := 1; i <= len(a); i++ {
		diag := row[0] // distance from a[:i-1] to b[:j-1]
		row[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			next := min(row[j]+1, row[j-1]+1, diag+cost)
			diag, row[j] = row[j], next
		}
	}
	return row[len(b)]
}
