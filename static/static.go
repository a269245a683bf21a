// Package static embeds the files served under /static/ and the Socket.IO
// client bundles served under /socket.io/.
package static

import (
	"embed"
	"io/fs"
)

//go:embed css js vendor media
var files embed.FS

// Files holds css/, js/, vendor/ and media/ (the player's demo clip,
// written by cmd/democlip at build time) as served under /static/.
var Files fs.FS = files

// SocketIOClient holds the socket.io.js bundles (see vendor/socketio/README.md).
var SocketIOClient fs.FS = mustSub("vendor/socketio")

func mustSub(dir string) fs.FS {
	sub, err := fs.Sub(files, dir)
	if err != nil {
		panic(err)
	}
	return sub
}

// AdminUI holds the Socket.IO Admin UI (vendor/admin-ui, copied from
// @socket.io/admin-ui at build time); empty when the assets were not
// built.
var AdminUI fs.FS = mustSub("vendor/admin-ui")
