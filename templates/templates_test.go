package templates

import (
	"bytes"
	"strings"
	"testing"
)

// page is the data the pages read (handlers.pageData has these fields).
type page struct {
	Title        string
	Room         string
	Legacy       bool
	ClientScript string
	Rooms        []struct {
		Name    string
		Members int
	}
	Error      string
	ICEServers string
	DemoClip   string
}

func render(t *testing.T, name string, data any) string {
	t.Helper()
	tmpl, err := Parse()
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := tmpl.ExecuteTemplate(&b, name, data); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return b.String()
}

func TestPagesShareTheHead(t *testing.T) {
	for _, name := range []string{"index.html", "room.html"} {
		out := render(t, name, page{Title: "a<b", Room: "lobby", ClientScript: "/socket.io/socket.io.min.js", ICEServers: "[]"})
		if !strings.HasPrefix(out, "<!doctype html>\n<html lang=\"en\">\n<head>\n") {
			t.Errorf("%s does not start with the shared head:\n%.200s", name, out)
		}
		if !strings.Contains(out, "<title>a&lt;b</title>") {
			t.Errorf("%s: title missing or not escaped", name)
		}
		if !strings.Contains(out, `<link rel="stylesheet" href="/static/css/app.css">`) {
			t.Errorf("%s: stylesheet missing", name)
		}
		if n := strings.Count(out, "<head>"); n != 1 {
			t.Errorf("%s: %d <head> elements", name, n)
		}
		if !strings.Contains(out, "</head>\n<body ") {
			t.Errorf("%s: the body does not follow the head", name)
		}
	}
}
