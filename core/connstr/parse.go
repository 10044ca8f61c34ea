package connstr

import (
	"fmt"
	"strings"
	"unicode"
)

// parse parses the connection string s into o, a fresh Options, stopping
// at the first error.
func parse(s string, o *Options) error {
	seen := make(map[*property]string) // each key given so far -> its spelling
	var prev *property                 // the key of the last pair read
	for rest, seg := s, 1; rest != ""; seg++ {
		// A key runs to the first "=". A ";" before it ends a segment
		// that has no "=", which is an error unless the segment is blank.
		k := strings.IndexAny(rest, "=;")
		if k < 0 || rest[k] == ';' {
			var segment string
			segment, rest, _ = strings.Cut(rest, ";")
			if segment = strings.TrimSpace(segment); segment != "" {
				return noEquals(segment, seg, prev)
			}
			continue
		}
		written := strings.TrimSpace(rest[:k])
		rest = rest[k+1:]

		p, err := lookupAt(written, seg, prev)
		if err != nil {
			return err
		}
		if first, ok := seen[p]; ok {
			return repeated(p, first, written)
		}
		seen[p] = written

		var value string
		if value, rest, err = readValue(rest, p); err != nil {
			return err
		}
		if err := p.assign(o, value, prev); err != nil {
			return err
		}
		prev = p
	}
	return nil
}

// readValue reads the value of key p from s, the text after the "=". It
// returns the value, unquoted or trimmed, and the text after the ";" that
// ends it.
func readValue(s string, p *property) (value, rest string, err error) {
	s = strings.TrimLeftFunc(s, unicode.IsSpace)
	if s == "" || (s[0] != '"' && s[0] != '\'') {
		value, rest, _ = strings.Cut(s, ";")
		return strings.TrimSpace(value), rest, nil
	}
	q := s[:1] // the quote character; written twice it stands for itself
	s = s[1:]
	var b strings.Builder
	for {
		end := strings.Index(s, q)
		if end < 0 {
			return "", "", keyError(p.name, "the value opened with %s has no closing %s", q, q)
		}
		b.WriteString(s[:end])
		s = s[end+1:]
		if !strings.HasPrefix(s, q) {
			break
		}
		b.WriteString(q)
		s = s[1:]
	}
	after, rest, _ := strings.Cut(s, ";")
	if strings.TrimSpace(after) != "" {
		return "", "", keyError(p.name, "unexpected text after the closing %s: end the value with \";\", "+
			"or write %s%s for a %s inside it", q, q, q, q)
	}
	return b.String(), rest, nil
}

// assign sets p's field of o from v, as Parse and Set do. prev is the key
// of the pair before this one in a connection string, nil if none.
func (p *property) assign(o *Options, v string, prev *property) error {
	err := p.set(o, v)
	if err == nil {
		return nil
	}
	if p.secret || isSecret(prev) {
		return keyError(p.name, "the value %s%s", err, secretHint(prev))
	}
	return keyError(p.name, "%q %s", v, err)
}

// lookup returns the property named key, or an error naming key and the
// closest known key.
func lookup(key string) (*property, error) {
	if p := find(key); p != nil {
		return p, nil
	}
	if !looksLikeKey(key) {
		return nil, &Error{Msg: "unknown key (not shown: it does not look like a key name)"}
	}
	msg := fmt.Sprintf("unknown key %q", key)
	if s := suggest(key); s != "" {
		msg += fmt.Sprintf("; did you mean %q?", s)
	}
	return nil, &Error{Key: key, Msg: msg}
}

// lookupAt is lookup for the key written in segment seg of a connection
// string, after the pair of key prev (nil if none). A key right after a
// secret may be part of that secret's value, if the value held an unquoted
// ";", so it is not shown.
func lookupAt(key string, seg int, prev *property) (*property, error) {
	switch {
	case key == "":
		return nil, &Error{Msg: fmt.Sprintf("%s has no key before \"=\"%s", where(seg, prev), secretHint(prev))}
	case isSecret(prev) && find(key) == nil:
		return nil, &Error{Msg: fmt.Sprintf("%s has an unknown key%s", where(seg, prev), secretHint(prev))}
	}
	return lookup(key)
}

// noEquals is the error for segment seg, a segment without "=", after the
// pair of key prev (nil if none). Unless the segment is a key name, it is
// not shown: it may be a secret.
func noEquals(segment string, seg int, prev *property) error {
	if p := find(segment); p != nil {
		return keyError(p.name, "no \"=\" follows it: write %s=VALUE", p.name)
	}
	return &Error{Msg: fmt.Sprintf("%s has no \"=\": write Key=Value%s", where(seg, prev), secretHint(prev))}
}

// repeated is the error for key p given a second time, spelled written
// after first.
func repeated(p *property, first, written string) error {
	if first == written {
		return keyError(p.name, "given more than once")
	}
	return keyError(p.name, "given more than once, as %q and %q", first, written)
}

// where names segment seg, which comes after the pair of key prev (nil if
// none).
func where(seg int, prev *property) string {
	if prev == nil {
		return fmt.Sprintf("segment %d", seg)
	}
	return fmt.Sprintf("segment %d (after key %q)", seg, prev.name)
}

// secretHint explains, when prev is a secret key, why the text after it is
// not shown and how to fix the likely cause.
func secretHint(prev *property) string {
	if !isSecret(prev) {
		return ""
	}
	return fmt.Sprintf(" (not shown: it may be part of the %s value; a value holding \";\" must be quoted, as %s='...')",
		prev.name, prev.name)
}

func isSecret(p *property) bool { return p != nil && p.secret }
