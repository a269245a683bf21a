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
	Limits     struct{ Name, Room, Text, URL, Typed int }
}

// data is a page with limits unlike the real ones, so that a number
// written into a template by hand shows.
func data(legacy bool) page {
	p := page{Title: "a<b", Room: "lobby", Legacy: legacy, ClientScript: "/socket.io/socket.io.min.js", ICEServers: "[]"}
	p.Limits.Name, p.Limits.Room, p.Limits.Text, p.Limits.URL, p.Limits.Typed = 11, 22, 333, 555, 44
	return p
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
		out := render(t, name, data(false))
		if !strings.HasPrefix(out, "<!doctype html>\n<html lang=\"en\" ") || !strings.Contains(out, ">\n<head>\n") {
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

// Every limit a page states or enforces comes from .Limits.
func TestPagesTakeTheLimitsFromTheData(t *testing.T) {
	want := map[string][]string{
		"index.html": {
			`Names are 1&ndash;11 letters`,
			`rooms are 1&ndash;22 lowercase`,
			`id="name-input" name="name" type="text" maxlength="44"`,
			`id="room-input" name="room" type="text" maxlength="44"`,
		},
		"room.html": {
			`Use 1&ndash;11 letters`,
			`id="message-input" type="text" maxlength="333"`,
			`id="name-input" name="name" type="text" maxlength="44"`,
		},
	}
	// The player (not on the legacy page) takes its link's limit too.
	if out := render(t, "room.html", data(false)); !strings.Contains(out, `id="player-url" type="url" maxlength="555"`) {
		t.Error("room.html: the player's link has not the limit of .Limits.URL")
	}
	for _, legacy := range []bool{false, true} {
		for name, parts := range want {
			out := render(t, name, data(legacy))
			root := `<html lang="en" data-name-max="11" data-room-max="22" data-text-max="333">`
			if !strings.Contains(out, root) {
				t.Errorf("%s: no %s", name, root)
			}
			for _, p := range parts {
				if !strings.Contains(out, p) {
					t.Errorf("%s (legacy %v): no %s", name, legacy, p)
				}
			}
			for _, n := range []string{"24", "32", "2000", "2048", "64"} {
				if strings.Contains(out, `maxlength="`+n+`"`) || strings.Contains(out, "&ndash;"+n) {
					t.Errorf("%s: the limit %s is written in the template", name, n)
				}
			}
		}
	}
}
