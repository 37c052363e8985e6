package logging

import (
	"bytes"
	"sync"
)

// Buffer collects log lines from concurrent writers (services, processes' output) so that a
// test can read everything that was logged, e.g. to look for a leaked secret.
type Buffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write implements io.Writer.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns everything written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
