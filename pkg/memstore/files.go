package memstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

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
	// Kept as given, as S3's client sends it without a copy: the caller
	// never changes a file's bytes after storing them.
	f.files[key] = content
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
	// Written aside, in a file of this write's own, and renamed: a reader
	// never sees half a file, and concurrent writes never share one.
	tmp, err := os.CreateTemp(filepath.Dir(p), filepath.Base(p)+".*.tmp")
	if err != nil {
		return kyc.Internal(fmt.Errorf("memstore: %w", err))
	}
	_, werr := tmp.Write(content)
	if cerr := tmp.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Rename(tmp.Name(), p)
	}
	if werr != nil {
		os.Remove(tmp.Name())
		return kyc.Internal(fmt.Errorf("memstore: %w", werr))
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

var (
	_ kyc.DirectFiles = (*Files)(nil)
)

// PresignUpload gives a form for the memory store: tests put the file
// with PutFile under the key in fields["key"].
func (f *Files) PresignUpload(_ context.Context, key string, maxBytes int64, expires time.Time) (string, map[string]string, error) {
	return "memory://files", map[string]string{"key": key}, nil
}

func (f *Files) Stat(_ context.Context, key string, n int) (int64, []byte, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	b, ok := f.files[key]
	if !ok {
		return 0, nil, false, nil
	}
	return int64(len(b)), append([]byte(nil), b[:min(n, len(b))]...), true, nil
}

func (f *Files) Copy(_ context.Context, from, to, _ string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	b, ok := f.files[from]
	if !ok {
		return kyc.Internal(fmt.Errorf("memstore: no file %s", from))
	}
	if f.files == nil {
		f.files = map[string][]byte{}
	}
	f.files[to] = append([]byte(nil), b...)
	return nil
}

// Stat and Copy of DirFiles serve make run's direct uploads (the form
// comes from the sandbox's local upload receiver).
func (d DirFiles) Stat(_ context.Context, key string, n int) (int64, []byte, bool, error) {
	p, err := d.path(key)
	if err != nil {
		return 0, nil, false, err
	}
	fh, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil, false, nil
	}
	if err != nil {
		return 0, nil, false, kyc.Internal(fmt.Errorf("memstore: %w", err))
	}
	defer fh.Close()
	st, err := fh.Stat()
	if err != nil {
		return 0, nil, false, kyc.Internal(fmt.Errorf("memstore: %w", err))
	}
	head := make([]byte, n)
	m, _ := io.ReadFull(fh, head)
	return st.Size(), head[:m], true, nil
}

func (d DirFiles) Copy(ctx context.Context, from, to, contentType string) error {
	b, err := d.ReadFile(ctx, from)
	if err != nil {
		return err
	}
	return d.PutFile(ctx, to, contentType, b)
}
