package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestParsePrice(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      string
		want    string // "nil" for unknown
		wantErr bool
	}{
		{name: "number", in: "2.5", want: "2.5"},
		{name: "dollar sign", in: "$3", want: "3"},
		{name: "free", in: "0", want: "0"},
		{name: "unknown", in: "unknown", want: "nil"},
		{name: "empty", in: "", want: "nil"},
		{name: "negative", in: "-1", wantErr: true},
		{name: "word", in: "cheap", wantErr: true},
		{name: "infinite", in: "Inf", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := parsePrice(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("parsePrice(%q) err = %v, wantErr %v", tt.in, err, tt.wantErr)
			}
			if tt.wantErr {
				return
			}
			if s := fmtPrice(got); (got == nil) != (tt.want == "nil") || (got != nil && s != tt.want) {
				t.Fatalf("parsePrice(%q) = %s, want %s", tt.in, s, tt.want)
			}
		})
	}
}

// TestModelsUpdateKeepsOtherPrices checks the read-modify-write of prices:
// the API replaces all four, so prices not named must be sent unchanged.
func TestModelsUpdateKeepsOtherPrices(t *testing.T) {
	t.Parallel()
	const model = `{"id":"m1","provider":"p","model":"x","prices":{"input":1,"output":2,"cache_read":0.1,"cache_write":null},"enabled":true}`
	patched := make(chan map[string]any, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.Method + " " + r.URL.Path {
		case "GET /api/v1/models/m1":
		case "PATCH /api/v1/models/m1":
			var body map[string]any
			b, _ := io.ReadAll(r.Body)
			if err := json.Unmarshal(b, &body); err != nil {
				t.Errorf("body: %v", err)
			}
			patched <- body
		default:
			t.Errorf("unexpected %s %s", r.Method, r.URL.Path)
			w.WriteHeader(http.StatusNotFound)
			return
		}
		_, _ = io.WriteString(w, model)
	}))
	t.Cleanup(srv.Close)
	env := map[string]string{"CHATD_URL": srv.URL, "CHATD_API_KEY": "ck1-k", "CHATD_CONFIG_DIR": t.TempDir()}
	mustCLI(t, env, "", "models", "update", "m1", "--output-price", "5", "--cache-read-price", "unknown", "--disable")
	body := <-patched
	got, _ := json.Marshal(body)
	want := `{"enabled":false,"prices":{"cache_read":null,"cache_write":null,"input":1,"output":5}}`
	if string(got) != want {
		t.Fatalf("PATCH body = %s, want %s", got, want)
	}
}

// TestModelsUpdateOptions checks the PATCH bodies of the Responses API
// switch and the compaction threshold, "inherit" being JSON null.
func TestModelsUpdateOptions(t *testing.T) {
	t.Parallel()
	patched := make(chan string, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		patched <- string(b)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"id":"m1","provider":"p","provider_type":"openai","model":"x","prices":{},"enabled":true,"use_responses_api":true,"compaction_threshold_percent":null}`)
	}))
	t.Cleanup(srv.Close)
	env := map[string]string{"CHATD_URL": srv.URL, "CHATD_API_KEY": "ck1-k", "CHATD_CONFIG_DIR": t.TempDir()}
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--responses-api", "--compaction-threshold", "70%"}, `{"use_responses_api":true,"compaction_threshold_percent":70}`},
		{[]string{"--responses-api=false", "--compaction-threshold", "inherit"}, `{"use_responses_api":false,"compaction_threshold_percent":null}`},
	}
	for _, tt := range tests {
		mustCLI(t, env, "", append([]string{"models", "update", "m1"}, tt.args...)...)
		if got := <-patched; got != tt.want {
			t.Fatalf("%v: PATCH body = %s, want %s", tt.args, got, tt.want)
		}
	}
	for _, bad := range []string{"0", "101", "lots"} {
		if _, err := parseThreshold(bad); err == nil {
			t.Fatalf("parseThreshold(%q) accepted", bad)
		}
	}
}

func TestFmtCost(t *testing.T) {
	t.Parallel()
	for in, want := range map[float64]string{0: "$0.0000", 1.5: "$1.5000", 0.000049: "$0.000049", 0.00012: "$0.0001", 0.0000001234: "$0.00000012"} {
		if got := fmtCost(in); got != want {
			t.Errorf("fmtCost(%v) = %q, want %q", in, got, want)
		}
	}
}
