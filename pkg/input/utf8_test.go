package input

import "testing"

func TestCheckUTF8(t *testing.T) {
	tests := []struct {
		name, data string
		want       string // the problem; "" for none
	}{
		{"ASCII", `{"a": 1}`, ""},
		{"multibyte", `{"é": "β"}`, ""},
		{"a stray byte", "{\"id\": \"e1\xff\"}", "not valid UTF-8 at byte 10"},
		{"a truncated sequence", "{\"a\": \"\xc3\"}", "not valid UTF-8 at byte 7"},
		{"a surrogate", "{\"a\xed\xa0\x80\": 1}", "not valid UTF-8 at byte 3"},
		{"at the start", "\xfe{}", "not valid UTF-8 at byte 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got string
			if e := CheckUTF8("", []byte(tt.data)); e != nil {
				got = e.Problem
			}
			if got != tt.want {
				t.Errorf("CheckUTF8(%q) = %q, want %q", tt.data, got, tt.want)
			}
		})
	}
}

// A stray byte would hide a key given twice from the key check: encoding/json
// reads the object all the same (the byte as U+FFFD). The check refuses it.
func TestCheckKeysRefusesInvalidUTF8(t *testing.T) {
	data := "{\"id\": \"e1\xff\", \"detail\": {\"image-tag\": \"1.0.0\", \"image-tag\": \"9.9.9\"}}"
	e := CheckKeys("", []byte(data))
	if e == nil || e.Problem != "not valid UTF-8 at byte 10" {
		t.Errorf("CheckKeys = %v, want the invalid byte at 10 refused", e)
	}
}
