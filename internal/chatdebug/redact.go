package chatdebug

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strings"
)

// Redacted replaces every secret the recorder removes.
const Redacted = "[REDACTED]"

// minSecretLen is the shortest known secret scrubbed by value: replacing a
// two-letter "secret" everywhere would wreck the recording and protect
// nothing.
const minSecretLen = 6

// sensitiveHeaders are removed whatever the name rules below say.
var sensitiveHeaders = map[string]bool{
	"authorization":            true,
	"proxy-authorization":      true,
	"x-api-key":                true,
	"api-key":                  true,
	"x-chatd-governance-token": true,
	"cookie":                   true,
	"set-cookie":               true,
	"x-goog-api-key":           true,
}

// sensitiveWords mark a header, JSON key or query parameter as secret when
// its name contains one of them.
var sensitiveWords = []string{"key", "secret", "token", "password", "credential", "authorization", "cookie", "auth"}

// rateLimitPrefixes name headers that count tokens and requests, not hold
// them: they are what a debugging user most wants to see after a 429.
var rateLimitPrefixes = []string{"x-ratelimit-", "anthropic-ratelimit-", "ratelimit-", "retry-after", "x-ms-ratelimit-"}

// isTokenCount reports whether name is a count of tokens (input_tokens,
// max_output_tokens, prompt_tokens_details) rather than a token.
func isTokenCount(name string) bool {
	return strings.HasSuffix(name, "tokens") || strings.Contains(name, "tokens_details") || strings.HasSuffix(name, "tokens_to_sample")
}

// sensitiveKey reports whether a JSON key or query parameter names a secret.
func sensitiveKey(name string) bool {
	n := strings.ToLower(name)
	if isTokenCount(n) {
		return false
	}
	for _, w := range sensitiveWords {
		if w == "auth" {
			// "auth" alone would catch "author"; match it as a word.
			if n == "auth" || strings.HasPrefix(n, "auth_") || strings.HasPrefix(n, "auth-") || strings.HasSuffix(n, "_auth") || strings.HasSuffix(n, "-auth") {
				return true
			}
			continue
		}
		if strings.Contains(n, w) {
			return true
		}
	}
	return false
}

// sensitiveHeader reports whether a header's values must be replaced.
func sensitiveHeader(name string) bool {
	n := strings.ToLower(name)
	if sensitiveHeaders[n] {
		return true
	}
	for _, p := range rateLimitPrefixes {
		if strings.HasPrefix(n, p) {
			return false
		}
	}
	return sensitiveKey(n)
}

// redactor removes secrets from what a recording stores. Its zero value
// applies the name rules only; secrets adds values scrubbed wherever they
// appear.
type redactor struct {
	secrets []string
}

// scrub replaces every known secret in s.
func (rd redactor) scrub(s string) string {
	for _, sec := range rd.secrets {
		if strings.Contains(s, sec) {
			s = strings.ReplaceAll(s, sec, Redacted)
		}
	}
	return s
}

// headers returns a redacted copy of h.
func (rd redactor) headers(h http.Header) http.Header {
	if h == nil {
		return nil
	}
	out := make(http.Header, len(h))
	for k, vs := range h {
		if sensitiveHeader(k) {
			out[k] = []string{Redacted}
			continue
		}
		cp := make([]string, len(vs))
		for i, v := range vs {
			cp[i] = rd.scrub(v)
		}
		out[k] = cp
	}
	return out
}

// url returns u with credentials, secret query parameters and known
// secrets removed.
func (rd redactor) url(u *url.URL) string {
	if u == nil {
		return ""
	}
	c := *u
	if c.User != nil {
		c.User = url.User(Redacted)
	}
	if c.RawQuery != "" {
		q := c.Query()
		for k, vs := range q {
			if sensitiveKey(k) {
				q[k] = []string{Redacted}
				continue
			}
			for i, v := range vs {
				vs[i] = rd.scrub(v)
			}
		}
		c.RawQuery = q.Encode()
	}
	s := c.String()
	// A secret may also sit in the path or, escaped, anywhere.
	s = rd.scrub(s)
	for _, sec := range rd.secrets {
		if esc := url.QueryEscape(sec); esc != sec {
			s = strings.ReplaceAll(s, esc, Redacted)
		}
	}
	return s
}

// text scrubs a free-form string such as an error message.
func (rd redactor) text(s string) string { return rd.scrub(s) }

// value redacts a decoded JSON value in place and returns it: secret keys
// at any depth become Redacted, known secrets in strings are scrubbed.
func (rd redactor) value(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if sensitiveKey(k) {
				x[k] = Redacted
				continue
			}
			x[k] = rd.value(e)
		}
		return x
	case []any:
		for i, e := range x {
			x[i] = rd.value(e)
		}
		return x
	case string:
		return rd.scrub(x)
	default:
		return v
	}
}

// decodeJSON decodes one JSON document, keeping numbers exact.
func decodeJSON(b []byte) (any, bool) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, false
	}
	if d.More() {
		return nil, false
	}
	return v, true
}

// json redacts one JSON document; ok is false when b is not JSON.
func (rd redactor) json(b []byte) (out []byte, ok bool) {
	v, ok := decodeJSON(b)
	if !ok {
		return nil, false
	}
	out, err := json.Marshal(rd.value(v))
	if err != nil {
		return nil, false
	}
	// Belt and braces: a secret split across a key and a value, or escaped
	// differently, still goes.
	return []byte(rd.scrub(string(out))), true
}

// rawJSON redacts a normalised request or response before it is stored.
func (rd redactor) rawJSON(b []byte) json.RawMessage {
	if len(b) == 0 {
		return nil
	}
	out, ok := rd.json(b)
	if !ok {
		return json.RawMessage(fmt.Sprintf("%q", omitted(len(b))))
	}
	return out
}

func omitted(n int) string { return fmt.Sprintf("[non-JSON body of %d bytes omitted]", n) }

// bodyKind is how a body is redacted.
type bodyKind int

const (
	kindUnknown bodyKind = iota
	kindJSON
	kindNDJSON
	kindSSE
)

func kindOf(contentType string) bodyKind {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		mt = strings.ToLower(strings.TrimSpace(contentType))
	}
	switch {
	case mt == "text/event-stream":
		return kindSSE
	case mt == "application/x-ndjson" || mt == "application/ndjson" || mt == "application/jsonl" || mt == "application/x-jsonlines" || mt == "application/jsonlines":
		return kindNDJSON
	case mt == "application/json" || strings.HasSuffix(mt, "+json"):
		return kindJSON
	}
	return kindUnknown
}

// body redacts a captured HTTP body of the given content type. extra is
// the number of bytes beyond the capture that were seen but not kept.
func (rd redactor) body(contentType string, b []byte, extra int64) string {
	if len(b) == 0 {
		if extra > 0 {
			return omitted(int(extra))
		}
		return ""
	}
	kind := kindOf(contentType)
	if kind == kindUnknown {
		// Sniff: an upstream error often comes without a content type.
		trimmed := bytes.TrimSpace(b)
		switch {
		case bytes.HasPrefix(trimmed, []byte("data:")) || bytes.HasPrefix(trimmed, []byte("event:")):
			kind = kindSSE
		case len(trimmed) > 0 && (trimmed[0] == '{' || trimmed[0] == '['):
			kind = kindJSON
		}
	}
	var out string
	switch kind {
	case kindJSON:
		if j, ok := rd.json(b); ok {
			out = string(j)
		} else if extra > 0 {
			// The capture cut the document; keep nothing of it.
			out = omitted(len(b))
		} else if lines, ok := rd.ndjson(b); ok {
			out = lines
		} else {
			out = omitted(len(b))
		}
	case kindNDJSON:
		if lines, ok := rd.ndjson(b); ok {
			out = lines
		} else {
			out = omitted(len(b))
		}
	case kindSSE:
		out = rd.sse(b)
	default:
		out = omitted(len(b))
	}
	if extra > 0 {
		out += fmt.Sprintf("\n[%d more bytes not captured]", extra)
	}
	return out
}

// ndjson redacts newline-delimited JSON line by line. A line that is not
// JSON (the last one of a cut capture) is replaced by a note.
func (rd redactor) ndjson(b []byte) (string, bool) {
	var sb strings.Builder
	found := false
	for line := range bytes.Lines(b) {
		l := bytes.TrimRight(line, "\r\n")
		if len(bytes.TrimSpace(l)) == 0 {
			sb.Write(line)
			continue
		}
		if j, ok := rd.json(l); ok {
			found = true
			sb.Write(j)
		} else {
			sb.WriteString(omitted(len(l)))
		}
		if bytes.HasSuffix(line, []byte("\n")) {
			sb.WriteByte('\n')
		}
	}
	return sb.String(), found
}

// sse redacts a Server-Sent Events stream event by event: each data
// payload as JSON, the [DONE] marker kept, anything else noted.
func (rd redactor) sse(b []byte) string {
	var sb strings.Builder
	for line := range bytes.Lines(b) {
		l := strings.TrimRight(string(line), "\r\n")
		nl := line[len(l):]
		field, value, hasColon := strings.Cut(l, ":")
		value = strings.TrimPrefix(value, " ")
		switch {
		case l == "":
			// event boundary
		case !hasColon && field != "":
			// A field with no value ("data"): harmless.
			sb.WriteString(rd.scrub(l))
		case field == "":
			// A comment (": ping"); its text is arbitrary.
			sb.WriteString(":")
		case field == "data":
			sb.WriteString("data: ")
			switch {
			case value == "[DONE]":
				sb.WriteString(value)
			default:
				if j, ok := rd.json([]byte(value)); ok {
					sb.Write(j)
				} else {
					sb.WriteString(omitted(len(value)))
				}
			}
		case field == "event" || field == "id" || field == "retry":
			sb.WriteString(field + ": " + rd.scrub(value))
		default:
			sb.WriteString(field + ": " + Redacted)
		}
		sb.Write(nl)
	}
	return sb.String()
}
