//go:build !linux

package engineio

// parker is Linux only (epoll); elsewhere sessions keep their readers.
type parker struct{}

func newParker() *parker { return nil }

func (p *parker) park(*Session) bool { return false }

func (p *parker) forget(*Session) {}

func (p *parker) close() {}
