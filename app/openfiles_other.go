//go:build !unix

package app

import "log/slog"

// raiseOpenFiles has nothing to do where there are no rlimits.
func raiseOpenFiles(*slog.Logger) {}
