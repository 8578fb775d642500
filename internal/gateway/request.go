package gateway

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/tidwall/gjson"
)

// The request body is scanned in place rather than decoded: a full
// encoding/json decode of every message was the largest CPU cost of a
// call, and the gateway reads only model, stream and the last user prompt.
// The rules follow encoding/json into a struct of those fields, except
// that keys match exactly, as providers match them.

// requestInfo is what the gateway reads from a request body.
type requestInfo struct {
	model  string
	stream bool
	prompt string
	// usageBody, for a streamed Chat Completions request that does not
	// ask for usage, is the body with stream_options.include_usage set;
	// nil otherwise (see withIncludeUsage).
	usageBody []byte
}

// errWrongType reports a known field of the wrong JSON type.
type errWrongType struct{ field string }

func (e *errWrongType) Error() string { return "field " + e.field + " has the wrong type" }

// parseRequest reads model, stream flag and the last user prompt.
func parseRequest(a api, body []byte) (requestInfo, *gatewayError) {
	ri, err := scanRequest(a, body)
	if errors.Is(err, errNotObject) {
		return ri, errorf(400, kindInvalidRequest, "request body must be a JSON object")
	}
	if errors.Is(err, errTooDeep) {
		return ri, errorf(400, kindInvalidRequest, fmt.Sprintf("request body nests JSON deeper than %d levels", maxJSONDepth))
	}
	if err != nil {
		return ri, errorf(400, kindInvalidRequest, "request body is not valid JSON: "+jsonErrorText(body, err))
	}
	if ri.model == "" {
		return ri, errorf(400, kindInvalidRequest, "model is required")
	}
	return ri, nil
}

var (
	errNotJSON   = errors.New("malformed")
	errNotObject = errors.New("not an object")
	errTooDeep   = errors.New("nested too deeply")
)

func scanRequest(a api, body []byte) (requestInfo, error) {
	var ri requestInfo
	// Before anything recursive reads the body (see maxJSONDepth).
	if jsonTooDeep(body) {
		return ri, errTooDeep
	}
	if !gjson.ValidBytes(body) {
		return ri, errNotJSON
	}
	// Every API takes an object; null, arrays and scalars are refused
	// whole, rather than as a field with no name.
	root := gjson.ParseBytes(body)
	if !root.IsObject() {
		return ri, errNotObject
	}
	var (
		list     gjson.Result // messages or input
		opts     gjson.Result // stream_options (Chat Completions)
		haveOpts bool
		err      error
	)
	listKey := "messages"
	if a == apiOpenAIResponses {
		listKey = "input"
	}
	// Later duplicates win, as in encoding/json and the providers' parsers.
	root.ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "model":
			ri.model, err = jsonString(v, "model")
		case "stream":
			ri.stream, err = jsonBool(v, "stream")
		case listKey:
			list = v
		case "stream_options":
			opts, haveOpts = v, true
		}
		return err == nil
	})
	if err != nil {
		return ri, err
	}
	if a == apiOpenAIChat && ri.stream {
		ri.usageBody = withIncludeUsage(body, root, opts, haveOpts)
	}
	switch a {
	case apiOpenAIChat, apiAnthropicMessages:
		// Anthropic: walking back also passes user turns that only carry
		// tool results.
		ri.prompt, err = lastUserText(list, "messages", "", "text")
	case apiOpenAIResponses:
		switch {
		case list.Type == gjson.String:
			ri.prompt = list.Str
		case list.IsArray():
			// An input shape we do not read is the provider's to judge.
			ri.prompt, _ = lastUserText(list, "input", "message", "input_text")
		}
	}
	// Model and prompt outlive the request in the record queue: gjson
	// results are substrings of a copy of the whole body, which they
	// would otherwise keep alive.
	ri.model = strings.Clone(ri.model)
	ri.prompt = strings.Clone(ri.prompt)
	return ri, err
}

// lastUserText returns the text of the last user message in list that
// has some. itemType, if set, is the "type" a message item may carry
// besides none; kind is the type of the content parts that are text.
func lastUserText(list gjson.Result, field, itemType, kind string) (string, error) {
	switch {
	case list.Type == gjson.Null:
		return "", nil
	case !list.IsArray():
		return "", &errWrongType{field: field}
	}
	var (
		prompt gjson.Result
		found  bool
		err    error
	)
	list.ForEach(func(_, m gjson.Result) bool {
		switch {
		case m.Type == gjson.Null:
			return true
		case !m.IsObject():
			err = &errWrongType{field: field}
			return false
		}
		var role, typ string
		var content gjson.Result
		m.ForEach(func(k, v gjson.Result) bool {
			switch k.Str {
			case "role":
				role, err = jsonString(v, field+".role")
			case "type":
				if itemType != "" {
					typ, err = jsonString(v, field+".type")
				}
			case "content":
				content = v
			}
			return err == nil
		})
		if err != nil {
			return false
		}
		if role == "user" && (typ == "" || typ == itemType) && hasText(content, kind) {
			prompt, found = content, true
		}
		return true
	})
	if err != nil || !found {
		return "", err
	}
	return textOf(prompt, kind), nil
}

func jsonString(v gjson.Result, field string) (string, error) {
	switch v.Type {
	case gjson.String:
		return v.Str, nil
	case gjson.Null:
		return "", nil
	}
	return "", &errWrongType{field: field}
}

func jsonBool(v gjson.Result, field string) (bool, error) {
	switch v.Type {
	case gjson.True, gjson.False:
		return v.Bool(), nil
	case gjson.Null:
		return false, nil
	}
	return false, &errWrongType{field: field}
}

// contentParts calls fn for each part of array content, and reports
// whether every part is an object with string (or null) type and text.
func contentParts(content gjson.Result, fn func(typ, text string)) bool {
	ok := true
	content.ForEach(func(_, p gjson.Result) bool {
		if p.Type == gjson.Null {
			return true
		}
		if !p.IsObject() {
			ok = false
			return false
		}
		var typ, text string
		var err error
		p.ForEach(func(k, v gjson.Result) bool {
			switch k.Str {
			case "type":
				typ, err = jsonString(v, "type")
			case "text":
				text, err = jsonString(v, "text")
			}
			return err == nil
		})
		if err != nil {
			ok = false
			return false
		}
		fn(typ, text)
		return true
	})
	return ok
}

// hasText reports whether textOf(content, kind) is not empty, without
// building it.
func hasText(content gjson.Result, kind string) bool {
	switch {
	case content.Type == gjson.String:
		return content.Str != ""
	case !content.IsArray():
		return false
	}
	found := false
	ok := contentParts(content, func(typ, text string) {
		if typ == kind && text != "" {
			found = true
		}
	})
	return ok && found
}

// textOf reads message content that is either a string or an array of
// parts, joining the text of the parts of type kind. Content of another
// shape has no text.
func textOf(content gjson.Result, kind string) string {
	switch {
	case content.Type == gjson.String:
		return content.Str
	case !content.IsArray():
		return ""
	}
	var b strings.Builder
	ok := contentParts(content, func(typ, text string) {
		if typ == kind && text != "" {
			if b.Len() > 0 {
				b.WriteByte('\n')
			}
			b.WriteString(text)
		}
	})
	if !ok {
		return ""
	}
	return b.String()
}

// jsonErrorText explains why body was refused. Syntax errors are worded
// by encoding/json, which is only run on this failure path.
func jsonErrorText(body []byte, err error) string {
	var wt *errWrongType
	if errors.As(err, &wt) {
		return wt.Error()
	}
	var v any
	var se *json.SyntaxError
	if jerr := json.Unmarshal(body, &v); errors.As(jerr, &se) {
		return se.Error()
	}
	return "malformed"
}
