package main

import (
	"io"
	"unicode/utf8"
)

// termSafe writes text that came from a model or another user to a
// terminal with its control characters made visible, so an answer cannot
// move the cursor, retitle the window or write the clipboard (OSC 52)
// through escape sequences. Tab and newline pass.
type termSafe struct{ w io.Writer }

func (t termSafe) Write(p []byte) (int, error) {
	if clean(p) {
		return t.w.Write(p)
	}
	n := len(p)
	out := make([]byte, 0, len(p)+8)
	for len(p) > 0 {
		r, size := utf8.DecodeRune(p)
		switch {
		case r == utf8.RuneError && size <= 1:
			out = utf8.AppendRune(out, utf8.RuneError)
		case isControl(r):
			// Control Pictures show C0 characters as visible glyphs.
			if r < 0x20 {
				out = utf8.AppendRune(out, 0x2400+r)
			} else {
				out = utf8.AppendRune(out, utf8.RuneError)
			}
		default:
			out = append(out, p[:size]...)
		}
		p = p[size:]
	}
	if _, err := t.w.Write(out); err != nil {
		return 0, err
	}
	return n, nil
}

// clean reports whether p needs no rewriting: plain ASCII text.
func clean(p []byte) bool {
	for _, b := range p {
		if b >= 0x80 || (b < 0x20 && b != '\n' && b != '\t') || b == 0x7f {
			return false
		}
	}
	return true
}

func isControl(r rune) bool {
	return (r < 0x20 && r != '\n' && r != '\t') || (r >= 0x7f && r < 0xa0)
}
