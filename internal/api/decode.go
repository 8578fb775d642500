package api

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"reflect"
	"strings"
	"time"
)

// maxBody is the largest request body accepted.
const maxBody = 1 << 20

// defaultBodyReadTimeout bounds how long reading a request body may take,
// so a client trickling a body cannot hold a handler forever.
const defaultBodyReadTimeout = 30 * time.Second

// decode reads exactly one JSON object from the body into v, refusing
// unknown fields, wrong types, trailing data, bodies over maxBody and
// bodies that take longer than a.bodyReadTimeout to arrive (408).
//
// The read deadline is set on the connection only while decoding and
// cleared afterwards, so long-lived responses (SSE streams, which never
// decode a body) are not cut by it.
func (a *API) decode(w http.ResponseWriter, r *http.Request, v any) error {
	rc := http.NewResponseController(w)
	// The wall clock, not a.now: a deadline is for the network. And
	// http.ErrNotSupported (HTTP/2 over some transports, recorders) leaves
	// the server-wide timeouts in charge; nothing else can fail here.
	_ = rc.SetReadDeadline(time.Now().Add(a.bodyReadTimeout))
	err := decodeBody(w, r, v)
	if errors.Is(err, errBodyTimeout) {
		// Keep the expired deadline: the server would otherwise wait for
		// the rest of the body before answering. The connection cannot
		// be reused.
		w.Header().Set("Connection", "close")
		return err
	}
	_ = rc.SetReadDeadline(time.Time{})
	return err
}

func decodeBody(w http.ResponseWriter, r *http.Request, v any) error {
	body := http.MaxBytesReader(w, r.Body, maxBody)
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeError(err)
	}
	// A second value, or anything but whitespace, after the object.
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		var mbe *http.MaxBytesError
		switch {
		case errors.As(err, &mbe):
			return errTooLarge
		case errors.Is(err, os.ErrDeadlineExceeded):
			return errBodyTimeout
		}
		return invalid("body", "unexpected data after the JSON object")
	}
	// PostgreSQL text cannot hold NUL, and no field has a use for it.
	if field, ok := nulField(reflect.ValueOf(v), ""); ok {
		return invalid(cmp.Or("field "+field, "body"), "string contains NUL (\\u0000)")
	}
	return nil
}

// nulField finds a decoded string holding a NUL byte and returns its JSON
// path (e.g. "parts[0].text").
func nulField(v reflect.Value, path string) (string, bool) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return "", false
		}
		return nulField(v.Elem(), path)
	case reflect.String:
		return path, strings.IndexByte(v.String(), 0) >= 0
	case reflect.Struct:
		t := v.Type()
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "-" {
				continue
			}
			if name == "" {
				name = f.Name
			}
			if f.Anonymous && f.Tag.Get("json") == "" {
				name = ""
			}
			if p, ok := nulField(v.Field(i), joinPath(path, name)); ok {
				return p, true
			}
		}
	case reflect.Slice, reflect.Array:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return "", false // raw JSON or bytes, not a string
		}
		for i := range v.Len() {
			if p, ok := nulField(v.Index(i), fmt.Sprintf("%s[%d]", path, i)); ok {
				return p, true
			}
		}
	case reflect.Map:
		iter := v.MapRange()
		for iter.Next() {
			k := fmt.Sprint(iter.Key().Interface())
			if strings.IndexByte(k, 0) >= 0 {
				return path, true
			}
			if p, ok := nulField(iter.Value(), joinPath(path, k)); ok {
				return p, true
			}
		}
	}
	return "", false
}

func joinPath(path, name string) string {
	switch {
	case name == "":
		return path
	case path == "":
		return name
	}
	return path + "." + name
}

func decodeError(err error) error {
	var (
		mbe    *http.MaxBytesError
		syntax *json.SyntaxError
		typ    *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &mbe):
		return errTooLarge
	case errors.Is(err, os.ErrDeadlineExceeded):
		return errBodyTimeout
	case errors.Is(err, io.EOF):
		return invalid("body", "empty, expected a JSON object")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return invalid("body", "truncated JSON")
	case errors.As(err, &syntax):
		return invalid("body", "invalid JSON at byte %d", syntax.Offset)
	case errors.As(err, &typ):
		if typ.Field == "" {
			return invalid("body", "expected a JSON object")
		}
		return invalid("field "+typ.Field, "expected %s", kindName(typ.Type))
	}
	// encoding/json has no typed error for unknown fields.
	if f, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return invalid("field "+strings.Trim(f, `"`), "unknown field")
	}
	return invalid("body", "invalid JSON")
}

func kindName(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Bool:
		return "boolean"
	case reflect.String:
		return "string"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "integer"
	case reflect.Float32, reflect.Float64:
		return "number"
	case reflect.Slice, reflect.Array:
		return "array"
	}
	return "object"
}
