// Package logbuf is a log sink for tests: a buffer safe for the concurrent
// writes of a logger shared by goroutines, and a JSON logger on it.
package logbuf

import (
	"bytes"
	"log/slog"
	"sync"
)

// Buffer collects log output.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *Buffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *Buffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Logger returns a JSON logger writing to b.
func (b *Buffer) Logger() *slog.Logger { return slog.New(slog.NewJSONHandler(b, nil)) }
