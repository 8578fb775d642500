// Package web serves chatd's browser interface: plain HTML, CSS and
// JavaScript modules embedded in the binary, with no build step.
package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"sort"
	"strings"
	"sync"
	"time"
)

//go:embed static
var files embed.FS

// AssetPrefix is where the assets live, followed by a hash of their
// content, so that a new build gets new URLs and old ones can be cached
// for good.
const AssetPrefix = "/assets/"

// CSP allows nothing but this origin's own files: no inline scripts or
// styles, no framing, no plugins.
const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; " +
	"form-action 'self'; frame-ancestors 'none'"

// bundle is the embedded interface with its content hash and the index
// page pointing at it.
type bundle struct {
	static fs.FS
	hash   string
	index  []byte
}

var load = sync.OnceValue(func() *bundle {
	static, err := fs.Sub(files, "static")
	if err != nil {
		panic("web: embedded files: " + err.Error())
	}
	var names []string
	_ = fs.WalkDir(static, ".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			names = append(names, p)
		}
		return nil
	})
	sort.Strings(names)
	h := sha256.New()
	for _, n := range names {
		b, _ := fs.ReadFile(static, n)
		h.Write([]byte(n))
		h.Write([]byte{0})
		h.Write(b)
	}
	hash := hex.EncodeToString(h.Sum(nil))[:16]
	idx, err := fs.ReadFile(static, "index.html")
	if err != nil {
		panic("web: embedded index.html: " + err.Error())
	}
	idx = bytes.ReplaceAll(idx, []byte("{{ASSETS}}"), []byte(AssetPrefix+hash))
	return &bundle{static: static, hash: hash, index: idx}
})

// Version returns the hash the current assets are served under.
func Version() string { return load().hash }

// Handler returns the handler for the interface. Mount it at "/" after
// the API's and gateway's own paths: it answers every other GET with the
// single page (the page routes in the browser), and files under
// AssetPrefix with their type and long caching.
//
// The handler is safe for concurrent use.
func Handler() http.Handler {
	b := load()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", CSP)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			h.Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		if rest, ok := strings.CutPrefix(r.URL.Path, AssetPrefix); ok {
			b.asset(w, r, rest)
			return
		}
		// Paths that look like files (favicon.ico, robots.txt, a stale
		// bookmark to a module) are not pages.
		if strings.Contains(path.Base(r.URL.Path), ".") {
			http.NotFound(w, r)
			return
		}
		h.Set("Content-Type", "text/html; charset=utf-8")
		h.Set("Cache-Control", "no-cache")
		w.WriteHeader(http.StatusOK)
		if r.Method == http.MethodGet {
			_, _ = w.Write(b.index)
		}
	})
}

// asset serves "<hash>/<file>". An old hash still gets today's file (a page
// loaded before an upgrade keeps working) but must not be cached for long.
func (b *bundle) asset(w http.ResponseWriter, r *http.Request, rest string) {
	hash, name, ok := strings.Cut(rest, "/")
	name = path.Clean("/" + name)[1:]
	if !ok || name == "" || name == "index.html" || strings.HasSuffix(r.URL.Path, "/") {
		http.NotFound(w, r)
		return
	}
	data, err := fs.ReadFile(b.static, name)
	if err != nil {
		// Directories fail here too: no listings.
		http.NotFound(w, r)
		return
	}
	ct := mime.TypeByExtension(path.Ext(name))
	switch path.Ext(name) {
	case ".js":
		ct = "text/javascript; charset=utf-8"
	case ".css":
		ct = "text/css; charset=utf-8"
	case ".svg":
		ct = "image/svg+xml"
	}
	if ct == "" {
		ct = "application/octet-stream"
	}
	h := w.Header()
	h.Set("Content-Type", ct)
	if hash == b.hash {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "no-cache")
	}
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(data))
}
