package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"sync"
	"time"

	"github.com/chatd/chatd/internal/sse"
)

// tokenRE finds a turn's token ("ct-CHAT-TURN") in a prompt.
var tokenRE = regexp.MustCompile(`ct-\d+-\d+`)

// stamp is one delta as it left the fake model.
type stamp struct {
	at   time.Time
	text string
}

// stamper wraps the fake upstream and records when each content delta is
// written to the wire, keyed by the turn token of the request's last user
// message (the last token in the body) and the delta's index.
type stamper struct {
	h http.Handler

	mu   sync.Mutex
	sent map[string][]stamp // guarded by mu
}

func newStamper(h http.Handler) *stamper {
	return &stamper{h: h, sent: make(map[string][]stamp)}
}

func (s *stamper) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	var token string
	if m := tokenRE.FindAll(body, -1); len(m) > 0 {
		token = string(m[len(m)-1])
	}
	s.h.ServeHTTP(&stampWriter{ResponseWriter: w, s: s, token: token}, r)
}

// lookup returns the i-th delta sent for token.
func (s *stamper) lookup(token string, i int) (stamp, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.sent[token]
	if i >= len(d) {
		return stamp{}, false
	}
	return d[i], true
}

type stampWriter struct {
	http.ResponseWriter
	s     *stamper
	token string
	p     sse.Parser
}

func (w *stampWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Write stamps the content deltas in b just before they go out; the fake
// flushes after each event.
func (w *stampWriter) Write(b []byte) (int, error) {
	now := time.Now()
	w.p.Feed(b, func(ev sse.Event) {
		var chunk struct {
			Choices []struct {
				Delta struct {
					Content string `json:"content"`
				} `json:"delta"`
			} `json:"choices"`
		}
		if json.Unmarshal(ev.Data, &chunk) != nil || len(chunk.Choices) == 0 || chunk.Choices[0].Delta.Content == "" {
			return
		}
		w.s.mu.Lock()
		w.s.sent[w.token] = append(w.s.sent[w.token], stamp{at: now, text: chunk.Choices[0].Delta.Content})
		w.s.mu.Unlock()
	})
	return w.ResponseWriter.Write(b)
}
