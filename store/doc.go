// Package store implements the chat backends: in-memory ones for a single
// process and tests, and a bbolt-backed History that survives restarts.
//
// Every implementation must pass the shared suites in package storetest, so
// that the chat rules behave the same whichever backend is configured.
package store
