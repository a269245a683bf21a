//go:build !linux

package engineio

import "syscall"

// parker is Linux only (epoll); elsewhere sessions keep their readers and
// polls their goroutines.
type parker struct{}

func newParker() *parker { return nil }

func (p *parker) park(*parkSlot, syscall.RawConn, waiter) bool { return false }

func (p *parker) forget(*parkSlot) {}

func (p *parker) remove(*parkSlot, syscall.RawConn) {}

func (p *parker) close() {}
