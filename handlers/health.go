package handlers

import (
	"net/http"

	"github.com/gin-gonic/gin"
)

// Healthz answers 200 while the process lives.
func Healthz(c *gin.Context) {
	c.JSON(http.StatusOK, gin.H{"status": "ok"})
}

// Readyz answers 200 while ready() holds (the server accepts new
// connections) and 503 otherwise, so load balancers stop sending new users
// to a node that is shutting down.
func Readyz(ready func() bool) gin.HandlerFunc {
	return func(c *gin.Context) {
		if ready() {
			c.JSON(http.StatusOK, gin.H{"status": "ready"})
			return
		}
		c.JSON(http.StatusServiceUnavailable, gin.H{"status": "not ready"})
	}
}
