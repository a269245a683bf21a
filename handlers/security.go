package handlers

import (
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"
)

// ContentSecurityPolicy is sent with every response. Scripts and styles
// come from this origin only, as files: no inline script, no inline event
// handler, no eval, so even markup that slipped past the escaping could not
// run. connect-src 'self' covers the page's own ws:/wss: URL (CSP Level 3).
// frame-ancestors 'none' keeps the pages out of other sites' frames.
//
// The room's shared player needs three exceptions, none of which lets a
// script run from anywhere else: media-src lets its <video> play the http:
// or https: URL a member loaded (media is decoded, never run); for a
// YouTube link, script-src admits YouTube's IFrame API (www.youtube.com
// serves it and the widget script it loads), and frame-src its player
// iframe (on youtube-nocookie.com; www.youtube.com where the API falls back
// to it).
const ContentSecurityPolicy = "default-src 'self'; script-src 'self' https://www.youtube.com; style-src 'self'; " +
	"img-src 'self' data:; media-src 'self' https: http:; connect-src 'self'; " +
	"frame-src https://www.youtube-nocookie.com https://www.youtube.com; object-src 'none'; base-uri 'none'; " +
	"form-action 'self'; frame-ancestors 'none'"

// securityHeaders are shared, read-only value slices: assigning them to a
// response's header map costs no allocation.
var securityHeaders = [...]struct {
	key   string
	value []string
}{
	{"Content-Security-Policy", []string{ContentSecurityPolicy}},
	{"X-Content-Type-Options", []string{"nosniff"}},
	{"Referrer-Policy", []string{"no-referrer"}},
	{"X-Frame-Options", []string{"DENY"}},
	{"Cross-Origin-Opener-Policy", []string{"same-origin"}},
}

var nosniff = []string{"nosniff"}

// SecurityHeaders sets the security headers on every response: pages,
// static files, the API and errors. Under realtimePath (Engine.IO
// payloads and the client bundles, never documents) only
// X-Content-Type-Options is sent, which keeps a polling response from
// being run as a foreign page's script; a held poll keeps its headers for
// as long as it waits, so they stay few.
func SecurityHeaders(realtimePath string) gin.HandlerFunc {
	return func(c *gin.Context) {
		h := c.Writer.Header()
		if strings.HasPrefix(c.Request.URL.Path, realtimePath) {
			h["X-Content-Type-Options"] = nosniff
		} else {
			setSecurityHeaders(h)
		}
		c.Next()
	}
}

func setSecurityHeaders(h http.Header) {
	for _, s := range securityHeaders {
		h[s.key] = s.value
	}
}
