package main

import (
	"bytes"
	"testing"
)

func TestTermSafe(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, in, want string }{
		{"plain", "hello\tworld\n", "hello\tworld\n"},
		{"unicode", "héllo ✓\n", "héllo ✓\n"},
		{"osc title", "hi \x1b]0;pwned\x07 there", "hi ␛]0;pwned␇ there"},
		{"csi colour", "\x1b[31mRED", "␛[31mRED"},
		{"c1 csi", "a\u009b31mb", "a\ufffd31mb"},
		{"nul and del", "x\x00y\x7f", "x␀y\ufffd"},
		{"carriage return", "abc\rxyz", "abc␍xyz"},
		{"invalid utf8", "a\xffb", "a\ufffdb"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			n, err := termSafe{&b}.Write([]byte(tt.in))
			if err != nil || n != len(tt.in) {
				t.Fatalf("Write = %d, %v; want %d, nil", n, err, len(tt.in))
			}
			if b.String() != tt.want {
				t.Fatalf("wrote %q, want %q", b.String(), tt.want)
			}
		})
	}
}
