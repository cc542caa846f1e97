package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// ttyBuffer is a buffer that says it is a terminal.
type ttyBuffer struct{ bytes.Buffer }

func (*ttyBuffer) Terminal() bool { return true }

func TestColorDecision(t *testing.T) {
	env := func(kv ...string) func(string) string {
		return func(k string) string {
			for i := 0; i < len(kv); i += 2 {
				if kv[i] == k {
					return kv[i+1]
				}
			}
			return ""
		}
	}
	tests := []struct {
		name   string
		w      io.Writer
		getenv func(string) string
		want   bool
	}{
		{"terminal", &ttyBuffer{}, env(), true},
		{"terminal with NO_COLOR", &ttyBuffer{}, env("NO_COLOR", "1"), false},
		{"terminal with empty NO_COLOR", &ttyBuffer{}, env("NO_COLOR", ""), true},
		{"dumb terminal", &ttyBuffer{}, env("TERM", "dumb"), false},
		{"buffer", &bytes.Buffer{}, env(), false},
		{"regular file", mustCreate(t), env(), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &cli{getenv: tt.getenv}
			if got := c.color(tt.w); got != tt.want {
				t.Errorf("color = %v, want %v", got, tt.want)
			}
		})
	}
}

func mustCreate(t *testing.T) *os.File {
	t.Helper()
	f, err := os.Create(filepath.Join(t.TempDir(), "out"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}
