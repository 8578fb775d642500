package web

import (
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

func get(t *testing.T, method, path string) (*http.Response, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	Handler().ServeHTTP(rec, httptest.NewRequest(method, path, nil))
	res := rec.Result()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, string(b)
}

func TestSecurityHeaders(t *testing.T) {
	t.Parallel()
	for _, path := range []string{"/", "/chats/x", "/assets/" + Version() + "/js/app.js", "/nope.txt"} {
		t.Run(path, func(t *testing.T) {
			t.Parallel()
			res, _ := get(t, "GET", path)
			want := map[string]string{
				"Content-Security-Policy": CSP,
				"X-Content-Type-Options":  "nosniff",
				"Referrer-Policy":         "no-referrer",
				"X-Frame-Options":         "DENY",
			}
			for k, v := range want {
				if got := res.Header.Get(k); got != v {
					t.Fatalf("%s = %q, want %q", k, got, v)
				}
			}
		})
	}
}

func TestCSPForbidsInline(t *testing.T) {
	t.Parallel()
	for _, bad := range []string{"unsafe-inline", "unsafe-eval", "*", "http:", "https:"} {
		if strings.Contains(CSP, bad) {
			t.Fatalf("CSP %q allows %s", CSP, bad)
		}
	}
	for _, must := range []string{"default-src 'self'", "connect-src 'self'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'"} {
		if !strings.Contains(CSP, must) {
			t.Fatalf("CSP %q lacks %s", CSP, must)
		}
	}
}

func TestIndexFallback(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, method, path string
		want               int
		index              bool
	}{
		{"root", "GET", "/", http.StatusOK, true},
		{"client route", "GET", "/chats/0190-abc", http.StatusOK, true},
		{"admin route", "GET", "/admin/usage", http.StatusOK, true},
		{"unknown page", "GET", "/some/where/else", http.StatusOK, true},
		{"head", "HEAD", "/settings", http.StatusOK, false},
		{"file-like path", "GET", "/favicon.ico", http.StatusNotFound, false},
		{"post", "POST", "/", http.StatusMethodNotAllowed, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res, body := get(t, tt.method, tt.path)
			if res.StatusCode != tt.want {
				t.Fatalf("status %d, want %d", res.StatusCode, tt.want)
			}
			if got := strings.Contains(body, `<script type="module"`); got != tt.index {
				t.Fatalf("index page served = %v, want %v", got, tt.index)
			}
			if tt.index {
				if ct := res.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
					t.Fatalf("Content-Type %q", ct)
				}
				if cc := res.Header.Get("Cache-Control"); cc != "no-cache" {
					t.Fatalf("index Cache-Control %q, want no-cache", cc)
				}
			}
		})
	}
}

func TestIndexHasNoInlineCode(t *testing.T) {
	t.Parallel()
	_, body := get(t, "GET", "/")
	if regexp.MustCompile(`<script(?:[^>]*)>[^<]+</script>`).MatchString(body) || strings.Contains(body, "<style") || strings.Contains(body, "style=") {
		t.Fatalf("index.html has inline script or style:\n%s", body)
	}
	if strings.Contains(body, "{{ASSETS}}") || !strings.Contains(body, "/assets/"+Version()+"/js/app.js") {
		t.Fatalf("asset prefix not filled in:\n%s", body)
	}
	if regexp.MustCompile(`(?i)(src|href)="(https?:)?//`).MatchString(body) {
		t.Fatalf("index.html loads from another origin:\n%s", body)
	}
}

func TestAssets(t *testing.T) {
	t.Parallel()
	v := Version()
	tests := []struct {
		path, ctype, cache string
		want               int
	}{
		{"/assets/" + v + "/js/app.js", "text/javascript; charset=utf-8", "public, max-age=31536000, immutable", 200},
		{"/assets/" + v + "/js/md.js", "text/javascript; charset=utf-8", "public, max-age=31536000, immutable", 200},
		{"/assets/" + v + "/app.css", "text/css; charset=utf-8", "public, max-age=31536000, immutable", 200},
		{"/assets/" + v + "/icon.svg", "image/svg+xml", "public, max-age=31536000, immutable", 200},
		{"/assets/0000000000000000/js/app.js", "text/javascript; charset=utf-8", "no-cache", 200},
		{"/assets/" + v + "/js/", "", "", 404},
		{"/assets/" + v + "/js", "", "", 404},
		{"/assets/" + v + "/", "", "", 404},
		{"/assets/", "", "", 404},
		{"/assets/" + v + "/index.html", "", "", 404},
		{"/assets/" + v + "/js/missing.js", "", "", 404},
		{"/assets/" + v + "/../web.go", "", "", 404},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			t.Parallel()
			res, body := get(t, "GET", tt.path)
			if res.StatusCode != tt.want {
				t.Fatalf("status %d, want %d", res.StatusCode, tt.want)
			}
			if tt.want != 200 {
				if strings.Contains(body, "<a href") || strings.Contains(body, "app.js") {
					t.Fatalf("looks like a listing: %s", body)
				}
				return
			}
			if got := res.Header.Get("Content-Type"); got != tt.ctype {
				t.Fatalf("Content-Type %q, want %q", got, tt.ctype)
			}
			if got := res.Header.Get("Cache-Control"); got != tt.cache {
				t.Fatalf("Cache-Control %q, want %q", got, tt.cache)
			}
			if body == "" {
				t.Fatal("empty body")
			}
		})
	}
}

// The bundle is meant to load fast: keep it far from "multi-megabyte".
func TestBundleSize(t *testing.T) {
	t.Parallel()
	total := 0
	for _, n := range []string{"index.html", "app.css", "js/app.js", "js/api.js", "js/dom.js", "js/md.js", "js/chats.js", "js/settings.js", "js/debug.js", "js/admin.js", "js/usage.js", "js/chart.js"} {
		b, err := files.ReadFile("static/" + n)
		if err != nil {
			t.Fatalf("read %s: %v", n, err)
		}
		total += len(b)
	}
	if total > 200<<10 {
		t.Fatalf("bundle is %d bytes, want under 200 KiB", total)
	}
}

// Page scripts never build HTML from strings: everything goes through
// text nodes (see dom.js), which is what keeps model output inert.
func TestNoHTMLSinks(t *testing.T) {
	t.Parallel()
	sinks := regexp.MustCompile(`innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function|setAttribute\(\s*'on`)
	entries, err := files.ReadDir("static/js")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := files.ReadFile("static/js/" + e.Name())
		if err != nil {
			t.Fatal(err)
		}
		if m := sinks.Find(b); m != nil {
			t.Fatalf("%s uses %s", e.Name(), m)
		}
	}
}
