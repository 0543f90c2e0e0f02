package memstore_test

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/grid-kyc/kyc-link/pkg/memstore"
)

// TestDirFilesConcurrentWrites: writes to one key at once all succeed and
// leave one whole file of one of them (make run's PUTs raced on a shared
// temporary name before).
func TestDirFilesConcurrentWrites(t *testing.T) {
	d := memstore.DirFiles{Dir: t.TempDir()}
	ctx := context.Background()
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			if err := d.PutFile(ctx, "documents/x/v1", "", bytes.Repeat([]byte(fmt.Sprint(i%10)), 1<<16)); err != nil {
				t.Errorf("PutFile = %v", err)
			}
		})
	}
	wg.Wait()
	b, err := d.ReadFile(ctx, "documents/x/v1")
	if err != nil || len(b) != 1<<16 || !bytes.Equal(b, bytes.Repeat(b[:1], 1<<16)) {
		t.Fatalf("the file after 20 writes: %d bytes, %v", len(b), err)
	}
}
