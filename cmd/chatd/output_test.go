package main

import (
	"bytes"
	"testing"
	"time"
)

func TestFmtCount(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		n    int64
		want string
	}{
		{"zero", 0, "0"},
		{"three digits", 999, "999"},
		{"four digits", 1000, "1,000"},
		{"millions", 1234567, "1,234,567"},
		{"negative", -1234567, "-1,234,567"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := fmtCount(tt.n); got != tt.want {
				t.Fatalf("fmtCount(%d) = %q, want %q", tt.n, got, tt.want)
			}
		})
	}
}

func TestParseWhen(t *testing.T) {
	t.Parallel()
	now := time.Date(2025, 3, 10, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		in      string
		sign    time.Duration
		want    time.Time
		wantErr bool
	}{
		{name: "rfc3339", in: "2025-01-02T03:04:05Z", sign: 1, want: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)},
		{name: "date", in: "2025-01-02", sign: -1, want: time.Date(2025, 1, 2, 0, 0, 0, 0, time.UTC)},
		{name: "hours forward", in: "720h", sign: 1, want: now.Add(720 * time.Hour)},
		{name: "days back", in: "7d", sign: -1, want: now.Add(-7 * 24 * time.Hour)},
		{name: "garbage", in: "soon", sign: 1, wantErr: true},
		{name: "negative days", in: "-3d", sign: 1, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := parseWhen(tt.in, now, tt.sign)
			if (err != nil) != tt.wantErr {
				t.Fatalf("parseWhen(%q) err = %v, wantErr %v", tt.in, err, tt.wantErr)
			}
			if !got.Equal(tt.want) {
				t.Fatalf("parseWhen(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestTableReplacesTabs(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	tb := newTable(&b, "A", "B")
	tb.row("x\ty", "new\nline")
	if err := tb.flush(); err != nil {
		t.Fatal(err)
	}
	if got, want := b.String(), "A    B\nx y  new line\n"; got != want {
		t.Fatalf("table = %q, want %q", got, want)
	}
}

func TestPrintJSONKeepsCharacters(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	if err := printJSON(&b, map[string]string{"hint": "sk-a…<z>"}); err != nil {
		t.Fatal(err)
	}
	if got, want := b.String(), "{\n  \"hint\": \"sk-a…<z>\"\n}\n"; got != want {
		t.Fatalf("json = %q, want %q", got, want)
	}
}
