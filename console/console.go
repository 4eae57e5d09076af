// Package console is onecse's web console: static files embedded in the
// binary (hand-written HTML, CSS and JavaScript modules, no build step) and the
// little the browser cannot do against the oneM2M API itself, served under
// /console/ on the HTTP listener:
//
//	/console/                 the single-page application (static/)
//	/console/api/info         the CSE-ID, CSEBase name and SP-ID, so the page knows where the tree starts
//	/console/api/types        the form description: every registered resource type with its attribute
//	                          table (resource/), and the response status code names (primitive/)
//	/console/sink/<id>        a notification target: whatever arrives is answered 2000 and kept
//	/console/events/<id>      a Server-Sent Events stream of what arrived at sink <id>
//
// The console is an ordinary oneM2M client: every oneM2M operation the page
// performs goes from the browser through the CSE's own HTTP API with the
// originator the user typed in, so access control applies exactly as for any
// other client. Nothing here reads or changes the resource tree.
package console

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"path"
	"strings"
	"time"
)

//go:embed static
var staticFS embed.FS

// Prefix is the path under which the console is served.
const Prefix = "/console/"

// Options configure the console.
type Options struct {
	// CSEID, CSEName and SPID describe the CSE the console belongs to.
	CSEID, CSEName, SPID string
	// MaxBody is the largest notification a sink accepts (default 1 MiB).
	MaxBody int64
	// Sinks bounds the number of sinks kept in memory (default 64); the one
	// unused longest is dropped first.
	Sinks int
	// Backlog is how many notifications a sink keeps for a page that
	// connects later or reconnects (default 100).
	Backlog int
	Log     *slog.Logger
}

// Console is the console's http.Handler.
type Console struct {
	opt   Options
	files map[string]file
	info  []byte
	types []byte
	sinks *hub
}

type file struct {
	data  []byte
	ctype string
	etag  string
}

// contentTypes are the media types of the console's files, fixed here rather
// than taken from the system's MIME tables (which differ between machines;
// JavaScript modules must be served as JavaScript).
var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".svg":  "image/svg+xml",
	".png":  "image/png",
	".json": "application/json",
}

// New returns the console.
func New(opt Options) *Console {
	if opt.MaxBody <= 0 {
		opt.MaxBody = 1 << 20
	}
	if opt.Sinks <= 0 {
		opt.Sinks = 64
	}
	if opt.Backlog <= 0 {
		opt.Backlog = 100
	}
	if opt.Log == nil {
		opt.Log = slog.New(slog.DiscardHandler)
	}
	c := &Console{opt: opt, files: map[string]file{}, sinks: newHub(opt.Sinks, opt.Backlog)}
	sub, _ := fs.Sub(staticFS, "static")
	fs.WalkDir(sub, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, _ := fs.ReadFile(sub, p)
		ct, ok := contentTypes[path.Ext(p)]
		if !ok {
			ct = "application/octet-stream"
		}
		sum := sha256.Sum256(data)
		c.files[p] = file{data: data, ctype: ct, etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
		return nil
	})
	c.info, _ = json.Marshal(map[string]string{"cseID": opt.CSEID, "cseName": opt.CSEName, "spID": opt.SPID})
	c.types, _ = json.Marshal(Describe())
	return c
}

// Enabled decides whether the console is served for the configuration value
// mode (auto, on, off; true and false are on and off) on a listener with
// address addr: auto means on only when addr is a loopback address, so that a
// CSE listening on a public address does not offer it unless asked to.
func Enabled(mode string, addr net.Addr) bool {
	switch strings.ToLower(mode) {
	case "on", "true":
		return true
	case "auto", "":
		a, ok := addr.(*net.TCPAddr)
		return ok && a.IP.IsLoopback()
	}
	return false
}

// Wrap returns a handler that serves the console under /console/ and passes
// every other request to next.
func (c *Console) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/console" || strings.HasPrefix(r.URL.Path, Prefix) {
			c.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// Close ends the event streams (so that the HTTP server's graceful shutdown
// does not wait for them).
func (c *Console) Close() { c.sinks.close() }

// ServeHTTP serves the console's paths.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	p := r.URL.Path
	if p == "/console" {
		http.Redirect(w, r, Prefix, http.StatusMovedPermanently)
		return
	}
	rest := strings.TrimPrefix(p, Prefix)
	switch {
	case strings.HasPrefix(rest, "sink/"):
		c.serveSink(w, r, strings.TrimPrefix(rest, "sink/"))
		return
	case strings.HasPrefix(rest, "events/"):
		c.serveEvents(w, r, strings.TrimPrefix(rest, "events/"))
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		h.Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	switch rest {
	case "api/info":
		c.serveJSON(w, r, c.info)
		return
	case "api/types":
		c.serveJSON(w, r, c.types)
		return
	case "":
		rest = "index.html"
	}
	f, ok := c.files[rest]
	if !ok {
		http.NotFound(w, r)
		return
	}
	h.Set("Content-Type", f.ctype)
	h.Set("ETag", f.etag)
	h.Set("Cache-Control", "no-cache")
	if f.ctype == contentTypes[".html"] {
		// The page loads only its own scripts and styles and talks only to
		// this origin; no other site may frame it.
		h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
		h.Set("X-Frame-Options", "DENY")
	}
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(f.data))
}

func (c *Console) serveJSON(w http.ResponseWriter, r *http.Request, data []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-cache")
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(data))
}
