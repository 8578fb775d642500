package gateway

import "bytes"

// maxJSONDepth bounds how deeply request and response JSON may nest
// before the gateway parses it. gjson's validator recurses once per level:
// a 30 MB body of '[' overflowed the goroutine stack, a fatal error that
// no recover catches and that ended the whole process. Real requests
// (tool schemas included) nest a few dozen levels.
const maxJSONDepth = 512

// jsonTooDeep reports whether b opens more than maxJSONDepth arrays and
// objects at once. It does not validate b and does not recurse: it counts
// brackets outside strings in one pass, skipping strings with IndexByte,
// so that it costs little next to the parse it guards.
func jsonTooDeep(b []byte) bool {
	depth := 0
	for i := 0; i < len(b); i++ {
		switch b[i] {
		case '"':
			for {
				j := bytes.IndexByte(b[i+1:], '"')
				if j < 0 {
					return false // an unterminated string: nothing deeper follows
				}
				i += 1 + j
				// A quote preceded by an odd run of backslashes is
				// escaped. Each run is counted once, so this stays linear.
				n := 0
				for k := i - 1; k >= 0 && b[k] == '\\'; k-- {
					n++
				}
				if n%2 == 0 {
					break
				}
			}
		case '[', '{':
			depth++
			if depth > maxJSONDepth {
				return true
			}
		case ']', '}':
			depth--
		}
	}
	return false
}

// deepGuard is embedded by extractors: it refuses JSON nested deeper than
// maxJSONDepth and counts what it refused, so that the relay can log that
// part of a response was relayed but not read.
type deepGuard struct{ skipped int }

// ok reports whether data may be parsed.
func (g *deepGuard) ok(data []byte) bool {
	if jsonTooDeep(data) {
		g.skipped++
		return false
	}
	return true
}

func (g *deepGuard) skippedDeep() int { return g.skipped }
