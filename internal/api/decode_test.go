package api

import (
	"bufio"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// TestDecodeBodyTimeout sends a body that never completes: the handler
// must give up at the read deadline and answer 408, not wait forever.
func TestDecodeBodyTimeout(t *testing.T) {
	t.Parallel()
	a := New(Config{Logger: slog.New(slog.DiscardHandler)})
	a.bodyReadTimeout = 100 * time.Millisecond
	srv := httptest.NewServer(a)
	t.Cleanup(srv.Close)

	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// A bound on the whole exchange, far above the handler's deadline: a
	// handler that keeps waiting fails the test here instead of hanging.
	if err := conn.SetDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	partial := `{"username":"ali`
	_, err = fmt.Fprintf(conn, "POST %s/auth/login HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n%s",
		Prefix, srv.Listener.Addr(), partial)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer to a trickled body: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusRequestTimeout {
		t.Fatalf("status %d, want %d", resp.StatusCode, http.StatusRequestTimeout)
	}
	var eb struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&eb); err != nil {
		t.Fatalf("decode error body: %v", err)
	}
	if eb.Error.Code != "request_timeout" {
		t.Fatalf("code %q, want request_timeout", eb.Error.Code)
	}
}
