package handlers

import (
	"io/fs"
	"net/http"

	"github.com/gin-gonic/gin"
)

// AdminContentSecurityPolicy replaces ContentSecurityPolicy on the Admin
// UI's files. The UI (@socket.io/admin-ui, a Vue and Vuetify build) puts
// its theme in a <style> element it writes at run time, so its styles
// need 'unsafe-inline'; scripts stay this origin's files only.
const AdminContentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; " +
	"img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; " +
	"form-action 'self'; frame-ancestors 'none'"

// AdminUI serves the Socket.IO Admin UI's files under /admin/. It holds
// no secret: the UI logs in over the /admin Socket.IO namespace.
type AdminUI struct {
	Files fs.FS
}

// Mount registers /admin (redirected) and /admin/*.
func (u AdminUI) Mount(r gin.IRoutes) {
	files := http.FileServerFS(u.Files)
	r.GET("/admin", func(c *gin.Context) { c.Redirect(http.StatusMovedPermanently, "/admin/") })
	r.GET("/admin/*file", func(c *gin.Context) {
		if _, err := fs.Stat(u.Files, "index.html"); err != nil {
			c.JSON(http.StatusServiceUnavailable, gin.H{"error": "the admin UI files are missing from this build (make assets)"})
			return
		}
		c.Header("Content-Security-Policy", AdminContentSecurityPolicy)
		file := c.Param("file")
		if file != "/" {
			if st, err := fs.Stat(u.Files, file[1:]); err != nil || st.IsDir() {
				c.JSON(http.StatusNotFound, gin.H{"error": "not found"})
				return
			}
		}
		req := c.Request.Clone(c.Request.Context())
		req.URL.Path = file
		files.ServeHTTP(c.Writer, req)
	})
}
