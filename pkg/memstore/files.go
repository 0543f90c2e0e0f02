package memstore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/grid-kyc/kyc-link/pkg/kyc"
)

// Files keeps documents' files in memory (tests).
type Files struct {
	mu    sync.Mutex
	files map[string][]byte
}

var (
	_ kyc.DocumentFiles = (*Files)(nil)
	_ kyc.DocumentFiles = DirFiles{}
)

func (f *Files) PutFile(_ context.Context, key, _ string, content []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.files == nil {
		f.files = map[string][]byte{}
	}
	f.files[key] = append([]byte(nil), content...)
	return nil
}

func (f *Files) ReadFile(_ context.Context, key string) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	b, ok := f.files[key]
	if !ok {
		return nil, kyc.Internal(fmt.Errorf("memstore: no file %s", key))
	}
	return append([]byte(nil), b...), nil
}

func (f *Files) DeleteFile(_ context.Context, key string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.files, key)
	return nil
}

// Keys lists the files kept (tests: nothing orphaned, nothing lost).
func (f *Files) Keys() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for k := range f.files {
		out = append(out, k)
	}
	return out
}

// DirFiles keeps documents' files under a local directory (make run),
// readable by the user who runs it only.
type DirFiles struct{ Dir string }

func (d DirFiles) path(key string) (string, error) {
	if key == "" || strings.Contains(key, "..") || filepath.IsAbs(key) {
		return "", kyc.Internal(fmt.Errorf("memstore: bad file key %q", key))
	}
	return filepath.Join(d.Dir, filepath.FromSlash(key)), nil
}

func (d DirFiles) PutFile(_ context.Context, key, _ string, content []byte) error {
	p, err := d.path(key)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return kyc.Internal(fmt.Errorf("memstore: %w", err))
	}
	// Written aside and renamed: a reader never sees half a file.
	tmp := p + ".tmp"
	if err := os.WriteFile(tmp, content, 0o600); err != nil {
		return kyc.Internal(fmt.Errorf("memstore: %w", err))
	}
	if err := os.Rename(tmp, p); err != nil {
		return kyc.Internal(fmt.Errorf("memstore: %w", err))
	}
	return nil
}

func (d DirFiles) ReadFile(_ context.Context, key string) ([]byte, error) {
	p, err := d.path(key)
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, kyc.Internal(fmt.Errorf("memstore: %w", err))
	}
	return b, nil
}

func (d DirFiles) DeleteFile(_ context.Context, key string) error {
	p, err := d.path(key)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return kyc.Internal(fmt.Errorf("memstore: %w", err))
	}
	return nil
}
