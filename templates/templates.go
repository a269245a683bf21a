// Package templates embeds the HTML pages rendered by handlers.Pages.
package templates

import (
	"embed"
	"html/template"
)

//go:embed *.html
var files embed.FS

// Parse parses every page into one set. base.html only defines the parts
// the pages share ("head"); every other file is a page named by its file
// name (index.html, room.html).
func Parse() (*template.Template, error) {
	return template.ParseFS(files, "*.html")
}
