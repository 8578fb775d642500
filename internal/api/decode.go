package api

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"reflect"
	"strings"
)

// maxBody is the largest request body accepted.
const maxBody = 1 << 20

// decode reads exactly one JSON object from the body into v, refusing
// unknown fields, wrong types, trailing data and bodies over maxBody.
func decode(w http.ResponseWriter, r *http.Request, v any) error {
	body := http.MaxBytesReader(w, r.Body, maxBody)
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeError(err)
	}
	// A second value, or anything but whitespace, after the object.
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return errTooLarge
		}
		return invalid("body", "unexpected data after the JSON object")
	}
	return nil
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
