package input

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"unicode"
)

// KeySet is the keys of one JSON object read so far, for a decoder that
// refuses what encoding/json lets through: a key given twice (encoding/json
// keeps the last) and two keys that differ only in case (encoding/json
// matches field names case-insensitively, so {"tag": "1.0", "Tag": "2.0"}
// decodes as either, depending on the order). The zero KeySet is empty and
// ready to use.
type KeySet struct {
	folded map[string]string // folded key → the key as first written
}

// Add records key and returns what is wrong with it: "" when nothing is,
// otherwise a problem for an *Error whose Field is the key's path. With
// caseSensitive, keys that differ only in case are distinct (environment
// variable names: http_proxy beside HTTP_PROXY is a convention).
func (s *KeySet) Add(key string, caseSensitive bool) string {
	if s.folded == nil {
		s.folded = make(map[string]string)
	}
	f := key
	if !caseSensitive {
		f = fold(key)
	}
	first, seen := s.folded[f]
	switch {
	case !seen:
		s.folded[f] = key
		return ""
	case first == key:
		return "given more than once"
	}
	return fmt.Sprintf("the same key as %s in another case: give it once, spelled one way", KeyPath("", first))
}

// fold returns a form of s that is the same for every string that
// strings.EqualFold (and encoding/json's field matching) holds equal to s:
// each rune becomes the smallest rune of its case-folding orbit.
func fold(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		least := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			least = min(least, f)
		}
		b.WriteRune(least)
	}
	return b.String()
}

// CheckKeys checks every object of the JSON value data, however deeply
// nested: no key given twice and no two keys that differ only in case (see
// KeySet). It returns the first problem as an *Error whose Field is the
// path of the key at fault below path ("detail.image-tag",
// "resources[0].Name"), and nil when there is none. Data that is not valid
// UTF-8 is refused (CheckUTF8: the offset is data's), since its keys cannot
// be told apart as encoding/json will read them. It returns nil for
// invalid JSON, which the decoder that follows reports.
//
// A key's path is written with KeyPath.
func CheckKeys(path string, data []byte) *Error {
	if e := CheckUTF8(path, data); e != nil {
		return e
	}
	c := keyChecker{dec: json.NewDecoder(bytes.NewReader(data)), path: path}
	c.dec.UseNumber()
	e, _ := c.value()
	return e
}

// keyChecker walks the tokens of a JSON value. The path of the value being
// read is kept as a stack of keys and indexes, and written out only for a
// problem: building it at every level would take time and memory quadratic
// in the depth of a nesting bomb.
type keyChecker struct {
	dec  *json.Decoder
	path string
	// stack holds a key (string) or an index (int) per level.
	stack []any
}

// value checks one value; ok is false when the JSON is invalid or nested
// more deeply than encoding/json decodes, which its decoder then reports.
func (c *keyChecker) value() (e *Error, ok bool) {
	if len(c.stack) > maxDepth {
		return nil, false
	}
	tok, err := c.dec.Token()
	if err != nil {
		return nil, false
	}
	switch tok {
	case json.Delim('{'):
		var keys KeySet
		for c.dec.More() {
			tok, err := c.dec.Token()
			if err != nil {
				return nil, false
			}
			key, _ := tok.(string) // the decoder returns only strings in key position
			c.stack = append(c.stack, key)
			if problem := keys.Add(key, false); problem != "" {
				return &Error{Field: c.field(), Problem: problem}, true
			}
			if e, ok := c.value(); e != nil || !ok {
				return e, ok
			}
			c.stack = c.stack[:len(c.stack)-1]
		}
	case json.Delim('['):
		for i := 0; c.dec.More(); i++ {
			c.stack = append(c.stack, i)
			if e, ok := c.value(); e != nil || !ok {
				return e, ok
			}
			c.stack = c.stack[:len(c.stack)-1]
		}
	default:
		return nil, true
	}
	_, err = c.dec.Token() // the closing delimiter
	return nil, err == nil
}

// field writes out the path of the value being read.
func (c *keyChecker) field() string {
	path := c.path
	for _, s := range c.stack {
		switch s := s.(type) {
		case string:
			path = KeyPath(path, s)
		case int:
			path = fmt.Sprintf("%s[%d]", path, s)
		}
	}
	return path
}

// KeyPath is JoinPath for a key read from an input: a key longer than
// MaxQuoted, or with a character that is not printable, is quoted and cut
// with Quote, so that it cannot flood or break a message.
func KeyPath(path, key string) string {
	if len(key) > MaxQuoted || strings.ContainsFunc(key, func(r rune) bool { return !unicode.IsPrint(r) }) {
		return path + "[" + Quote(key) + "]"
	}
	return JoinPath(path, key)
}
