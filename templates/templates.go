// Package templates embeds the HTML pages rendered by handlers.Pages.
package templates

import (
	"embed"
	"html/template"
)

//go:embed *.html
var files embed.FS

// Parse parses every page; each file is a complete page named by its file name.
func Parse() (*template.Template, error) {
	return template.ParseFS(files, "*.html")
}
