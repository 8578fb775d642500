package chatdebug

import (
	"context"
	"encoding/json"
	"errors"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"charm.land/fantasy"

	"github.com/chatd/chatd/internal/store"
)

// Bounds of what a step keeps.
const (
	maxPartRunes    = 10_000    // text of one request message part
	maxResponseText = 50 * 1024 // accumulated response text or reasoning, bytes
)

// Step operations.
const (
	OpStream   = "stream"
	OpGenerate = "generate"
)

// step is one model call being recorded; the recording transport finds it
// in the request context.
type step struct {
	run      *Run
	id       string
	number   int
	attempts atomic.Int64 // last attempt number used
	once     sync.Once    // guards the final write
}

type stepKey struct{}

func stepFrom(ctx context.Context) *step {
	st, _ := ctx.Value(stepKey{}).(*step)
	return st
}

// WrapModel returns m recording each Generate and Stream call as a step of
// the run. A nil Run returns m itself.
func (r *Run) WrapModel(m fantasy.LanguageModel) fantasy.LanguageModel {
	if r == nil || m == nil {
		return m
	}
	return &model{inner: m, run: r}
}

// model records the calls of inner. It is safe for concurrent use when
// inner is.
type model struct {
	inner fantasy.LanguageModel
	run   *Run
}

var _ fantasy.LanguageModel = (*model)(nil)

func (m *model) Provider() string { return m.inner.Provider() }
func (m *model) Model() string    { return m.inner.Model() }

// GenerateObject and StreamObject are not recorded as steps, but their HTTP
// attempts are not either: they carry no step in their context.
func (m *model) GenerateObject(ctx context.Context, c fantasy.ObjectCall) (*fantasy.ObjectResponse, error) {
	return m.inner.GenerateObject(ctx, c)
}

func (m *model) StreamObject(ctx context.Context, c fantasy.ObjectCall) (fantasy.ObjectStreamResponse, error) {
	return m.inner.StreamObject(ctx, c)
}

// Generate records a blocking call.
func (m *model) Generate(ctx context.Context, c fantasy.Call) (*fantasy.Response, error) {
	st := m.run.startStep(ctx, OpGenerate, c)
	resp, err := m.inner.Generate(context.WithValue(ctx, stepKey{}, st), c)
	var acc accumulator
	if resp != nil {
		acc.fromResponse(resp)
	}
	st.finish(ctx, &acc, err, false)
	return resp, err
}

// Stream records a streaming call. Parts pass through untouched as they
// come; the response is written when the stream ends.
func (m *model) Stream(ctx context.Context, c fantasy.Call) (fantasy.StreamResponse, error) {
	st := m.run.startStep(ctx, OpStream, c)
	seq, err := m.inner.Stream(context.WithValue(ctx, stepKey{}, st), c)
	if err != nil {
		st.finish(ctx, &accumulator{}, err, false)
		return seq, err
	}
	return func(yield func(fantasy.StreamPart) bool) {
		var acc accumulator
		stopped := false
		defer func() {
			// A panic in the consumer still ends the step.
			st.finish(ctx, &acc, nil, stopped)
		}()
		for part := range seq {
			acc.add(part)
			if !yield(part) {
				stopped = true
				return
			}
		}
	}, nil
}

// startStep numbers a step and writes it, in progress, in the background.
func (r *Run) startStep(ctx context.Context, op string, c fantasy.Call) *step {
	st := &step{run: r, id: newID(), number: int(r.steps.Add(1))}
	req, _ := json.Marshal(normaliseCall(c))
	now := time.Now()
	r.enqueue(ctx, func(wctx context.Context) {
		rec := store.DebugStep{
			ID:        st.id,
			RunID:     r.id,
			Number:    st.number,
			Operation: op,
			Status:    store.DebugInProgress,
			Request:   r.redactor().rawJSON(req),
			StartedAt: now,
			UpdatedAt: now,
		}
		if _, err := r.s.c.Runs.CreateDebugStep(wctx, rec); err != nil {
			r.s.log.WarnContext(wctx, "record debug step", "run_id", r.id, "step", st.number, "error", err)
			return
		}
		r.s.notify(RunEvent{Kind: StepCreated, ChatID: r.chatID, RunID: r.id, StepID: st.id, Status: store.DebugInProgress})
	})
	return st
}

// finish writes the step's response, error and status once. callErr is
// the error Generate or Stream returned; a stream's error part is in acc.
// stopped means the consumer left the stream early.
func (st *step) finish(ctx context.Context, acc *accumulator, callErr error, stopped bool) {
	st.once.Do(func() {
		err := callErr
		if err == nil {
			err = acc.err
		}
		status := store.DebugCompleted
		switch {
		case err != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil):
			status = store.DebugInterrupted
		case err != nil:
			status = store.DebugError
		case ctx.Err() != nil, stopped && !acc.finished:
			status = store.DebugInterrupted
		}
		var errText string
		if err != nil {
			errText = err.Error()
		}
		resp, _ := json.Marshal(acc.response())
		now := time.Now()
		r := st.run
		r.enqueue(ctx, func(wctx context.Context) {
			rd := r.redactor()
			errText := rd.text(errText)
			p := store.DebugStepPatch{Status: &status, Response: rd.rawJSON(resp), FinishedAt: &now}
			if errText != "" {
				p.Error = &errText
			}
			if _, err := r.s.c.Runs.UpdateDebugStep(wctx, st.id, p); err != nil {
				r.s.log.WarnContext(wctx, "finish debug step", "run_id", r.id, "step", st.number, "error", err)
				return
			}
			r.s.notify(RunEvent{Kind: StepFinished, ChatID: r.chatID, RunID: r.id, StepID: st.id, Status: status})
		})
	})
}

// Normalised request, as stored.
type (
	callRecord struct {
		Messages []messageRecord `json:"messages"`
		Tools    []toolRecord    `json:"tools,omitempty"`
		Options  optionsRecord   `json:"options"`
	}
	messageRecord struct {
		Role  string       `json:"role"`
		Parts []partRecord `json:"parts"`
	}
	partRecord struct {
		Type       string `json:"type"`
		Text       string `json:"text,omitempty"`
		Truncated  bool   `json:"truncated,omitempty"`
		Filename   string `json:"filename,omitempty"`
		MediaType  string `json:"media_type,omitempty"`
		Size       int    `json:"size,omitempty"`
		ToolCallID string `json:"tool_call_id,omitempty"`
		ToolName   string `json:"tool_name,omitempty"`
		Input      string `json:"input,omitempty"`
		Error      string `json:"error,omitempty"`
	}
	toolRecord struct {
		Type        string         `json:"type"`
		Name        string         `json:"name"`
		Description string         `json:"description,omitempty"`
		Schema      map[string]any `json:"schema,omitempty"`
		ID          string         `json:"id,omitempty"`
	}
	optionsRecord struct {
		MaxOutputTokens  *int64   `json:"max_output_tokens,omitempty"`
		Temperature      *float64 `json:"temperature,omitempty"`
		TopP             *float64 `json:"top_p,omitempty"`
		TopK             *int64   `json:"top_k,omitempty"`
		PresencePenalty  *float64 `json:"presence_penalty,omitempty"`
		FrequencyPenalty *float64 `json:"frequency_penalty,omitempty"`
		ToolChoice       string   `json:"tool_choice,omitempty"`
		// ProviderOptions lists the providers with options, not the
		// options, which may hold anything.
		ProviderOptions []string `json:"provider_options,omitempty"`
	}
)

// cutRunes returns s cut to n runes and whether it was cut.
func cutRunes(s string, n int) (string, bool) {
	if len(s) <= n || utf8.RuneCountInString(s) <= n {
		return s, false
	}
	i := 0
	for j := range s {
		if i == n {
			return s[:j], true
		}
		i++
	}
	return s, false
}

func textPart(typ, s string) partRecord {
	t, cut := cutRunes(s, maxPartRunes)
	return partRecord{Type: typ, Text: t, Truncated: cut}
}

func normaliseCall(c fantasy.Call) callRecord {
	rec := callRecord{Messages: make([]messageRecord, 0, len(c.Prompt))}
	for _, msg := range c.Prompt {
		mr := messageRecord{Role: string(msg.Role), Parts: make([]partRecord, 0, len(msg.Content))}
		for _, p := range msg.Content {
			mr.Parts = append(mr.Parts, normalisePart(p))
		}
		rec.Messages = append(rec.Messages, mr)
	}
	for _, t := range c.Tools {
		switch x := t.(type) {
		case fantasy.FunctionTool:
			rec.Tools = append(rec.Tools, toolRecord{Type: string(x.GetType()), Name: x.Name, Description: x.Description, Schema: x.InputSchema})
		case *fantasy.FunctionTool:
			rec.Tools = append(rec.Tools, toolRecord{Type: string(x.GetType()), Name: x.Name, Description: x.Description, Schema: x.InputSchema})
		case fantasy.ProviderDefinedTool:
			rec.Tools = append(rec.Tools, toolRecord{Type: string(x.GetType()), Name: x.Name, ID: x.ID})
		default:
			if t != nil {
				rec.Tools = append(rec.Tools, toolRecord{Type: string(t.GetType()), Name: t.GetName()})
			}
		}
	}
	o := &rec.Options
	o.MaxOutputTokens, o.Temperature, o.TopP, o.TopK = c.MaxOutputTokens, c.Temperature, c.TopP, c.TopK
	o.PresencePenalty, o.FrequencyPenalty = c.PresencePenalty, c.FrequencyPenalty
	if c.ToolChoice != nil {
		o.ToolChoice = string(*c.ToolChoice)
	}
	for k := range c.ProviderOptions {
		o.ProviderOptions = append(o.ProviderOptions, k)
	}
	sort.Strings(o.ProviderOptions)
	return rec
}

func normalisePart(p fantasy.MessagePart) partRecord {
	if p == nil {
		return partRecord{Type: "unknown"}
	}
	if x, ok := fantasy.AsMessagePart[fantasy.TextPart](p); ok {
		return textPart("text", x.Text)
	}
	if x, ok := fantasy.AsMessagePart[fantasy.ReasoningPart](p); ok {
		return textPart("reasoning", x.Text)
	}
	if x, ok := fantasy.AsMessagePart[fantasy.FilePart](p); ok {
		return partRecord{Type: "file", Filename: x.Filename, MediaType: x.MediaType, Size: len(x.Data)}
	}
	if x, ok := fantasy.AsMessagePart[fantasy.ToolCallPart](p); ok {
		in, cut := cutRunes(x.Input, maxPartRunes)
		return partRecord{Type: "tool-call", ToolCallID: x.ToolCallID, ToolName: x.ToolName, Input: in, Truncated: cut}
	}
	if x, ok := fantasy.AsMessagePart[fantasy.ToolResultPart](p); ok {
		pr := partRecord{Type: "tool-result", ToolCallID: x.ToolCallID}
		if t, ok := fantasy.AsToolResultOutputType[fantasy.ToolResultOutputContentText](x.Output); ok {
			pr.Text, pr.Truncated = cutRunes(t.Text, maxPartRunes)
		} else if e, ok := fantasy.AsToolResultOutputType[fantasy.ToolResultOutputContentError](x.Output); ok {
			if e.Error != nil {
				pr.Error, _ = cutRunes(e.Error.Error(), maxPartRunes)
			}
		} else if m, ok := fantasy.AsToolResultOutputType[fantasy.ToolResultOutputContentMedia](x.Output); ok {
			pr.MediaType, pr.Size = m.MediaType, len(m.Data)
			pr.Text, pr.Truncated = cutRunes(m.Text, maxPartRunes)
		}
		return pr
	}
	return partRecord{Type: string(p.GetType())}
}

// accumulator gathers a response from a Generate result or stream parts.
type accumulator struct {
	text, reasoning strings.Builder
	textN, reasonN  int // bytes seen, kept or not
	toolCalls       []toolCallRecord
	files           []partRecord
	finishReason    string
	usage           fantasy.Usage
	warnings        []warningRecord
	err             error
	finished        bool // a finish part or a complete response was seen
}

type (
	responseRecord struct {
		Text               string           `json:"text,omitempty"`
		TextTruncated      bool             `json:"text_truncated,omitempty"`
		Reasoning          string           `json:"reasoning,omitempty"`
		ReasoningTruncated bool             `json:"reasoning_truncated,omitempty"`
		ToolCalls          []toolCallRecord `json:"tool_calls,omitempty"`
		Files              []partRecord     `json:"files,omitempty"`
		FinishReason       string           `json:"finish_reason,omitempty"`
		Usage              fantasy.Usage    `json:"usage"`
		Warnings           []warningRecord  `json:"warnings,omitempty"`
	}
	toolCallRecord struct {
		ID               string `json:"id"`
		Name             string `json:"name"`
		Input            string `json:"input"`
		ProviderExecuted bool   `json:"provider_executed,omitempty"`
		Truncated        bool   `json:"truncated,omitempty"`
	}
	warningRecord struct {
		Type    string `json:"type"`
		Setting string `json:"setting,omitempty"`
		Tool    string `json:"tool,omitempty"`
		Details string `json:"details,omitempty"`
		Message string `json:"message,omitempty"`
	}
)

// appendBounded adds s to b while b stays within maxResponseText bytes,
// cutting on a rune boundary; n counts every byte offered.
func appendBounded(b *strings.Builder, n *int, s string) {
	*n += len(s)
	room := maxResponseText - b.Len()
	if room <= 0 {
		return
	}
	if len(s) > room {
		s = s[:room]
		for len(s) > 0 && !utf8.ValidString(s) {
			s = s[:len(s)-1]
		}
	}
	b.WriteString(s)
}

func (a *accumulator) toolCall(id, name, input string, providerExecuted bool) {
	in, cut := cutRunes(input, maxPartRunes)
	a.toolCalls = append(a.toolCalls, toolCallRecord{ID: id, Name: name, Input: in, ProviderExecuted: providerExecuted, Truncated: cut})
}

func (a *accumulator) addWarnings(ws []fantasy.CallWarning) {
	for _, w := range ws {
		var tool string
		if w.Tool != nil {
			tool = w.Tool.GetName()
		}
		a.warnings = append(a.warnings, warningRecord{Type: string(w.Type), Setting: w.Setting, Tool: tool, Details: w.Details, Message: w.Message})
	}
}

// add takes one stream part. It is cheap: the part passes on at once.
func (a *accumulator) add(p fantasy.StreamPart) {
	switch p.Type {
	case fantasy.StreamPartTypeTextDelta:
		appendBounded(&a.text, &a.textN, p.Delta)
	case fantasy.StreamPartTypeReasoningDelta:
		appendBounded(&a.reasoning, &a.reasonN, p.Delta)
	case fantasy.StreamPartTypeToolCall:
		a.toolCall(p.ID, p.ToolCallName, p.ToolCallInput, p.ProviderExecuted)
	case fantasy.StreamPartTypeWarnings:
		a.addWarnings(p.Warnings)
	case fantasy.StreamPartTypeFinish:
		a.finished = true
		a.finishReason = string(p.FinishReason)
		a.usage = p.Usage
	case fantasy.StreamPartTypeError:
		if p.Error != nil {
			a.err = p.Error
		} else {
			a.err = errors.New("stream error")
		}
	}
}

func (a *accumulator) fromResponse(r *fantasy.Response) {
	a.finished = true
	a.finishReason = string(r.FinishReason)
	a.usage = r.Usage
	a.addWarnings(r.Warnings)
	for _, c := range r.Content {
		switch c.GetType() {
		case fantasy.ContentTypeText:
			if x, ok := fantasy.AsContentType[fantasy.TextContent](c); ok {
				appendBounded(&a.text, &a.textN, x.Text)
			}
		case fantasy.ContentTypeReasoning:
			if x, ok := fantasy.AsContentType[fantasy.ReasoningContent](c); ok {
				appendBounded(&a.reasoning, &a.reasonN, x.Text)
			}
		case fantasy.ContentTypeToolCall:
			if x, ok := fantasy.AsContentType[fantasy.ToolCallContent](c); ok {
				a.toolCall(x.ToolCallID, x.ToolName, x.Input, x.ProviderExecuted)
			}
		case fantasy.ContentTypeFile:
			if x, ok := fantasy.AsContentType[fantasy.FileContent](c); ok {
				a.files = append(a.files, partRecord{Type: "file", MediaType: x.MediaType, Size: len(x.Data)})
			}
		}
	}
}

func (a *accumulator) response() responseRecord {
	return responseRecord{
		Text:               a.text.String(),
		TextTruncated:      a.textN > a.text.Len(),
		Reasoning:          a.reasoning.String(),
		ReasoningTruncated: a.reasonN > a.reasoning.Len(),
		ToolCalls:          a.toolCalls,
		Files:              a.files,
		FinishReason:       a.finishReason,
		Usage:              a.usage,
		Warnings:           a.warnings,
	}
}
