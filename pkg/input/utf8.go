package input

import (
	"fmt"
	"unicode/utf8"
)

// InvalidUTF8 returns the byte offset of the first sequence in data that is
// not valid UTF-8, or -1 when data is valid UTF-8.
func InvalidUTF8(data []byte) int {
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && size == 1 {
			return i
		}
		i += size
	}
	return -1
}

// CheckUTF8 returns an *Error, at path, naming the byte offset of the first
// sequence in data that is not valid UTF-8; nil when data is valid UTF-8.
// encoding/json decodes each invalid byte as U+FFFD without a word, so that
// two different keys can decode as one and an id or a tag as another: every
// decoder refuses invalid UTF-8 before anything else.
func CheckUTF8(path string, data []byte) *Error {
	if utf8.Valid(data) {
		return nil
	}
	return &Error{Field: path, Problem: fmt.Sprintf("not valid UTF-8 at byte %d", InvalidUTF8(data))}
}
