//go:build unix

package app

import (
	"context"
	"log/slog"
	"syscall"
)

// raiseOpenFiles lifts the soft limit on open files to the hard one (each
// connection is a descriptor) and logs both, so an operator sees at start-up
// how many connections the process can hold. The Go runtime usually has
// raised it already; this makes sure, and says so.
func raiseOpenFiles(log *slog.Logger) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		log.Warn("reading the open-file limit", "err", err)
		return
	}
	if lim.Cur < lim.Max {
		raised := lim
		raised.Cur = lim.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &raised); err != nil {
			log.Warn("raising the open-file limit", "soft", lim.Cur, "hard", lim.Max, "err", err)
		} else {
			lim = raised
		}
	}
	level := slog.LevelInfo
	if lim.Cur < 4096 {
		level = slog.LevelWarn // a few thousand connections at most
	}
	log.Log(context.Background(), level, "open-file limit", "soft", lim.Cur, "hard", lim.Max)
}
