package secrets_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/grid-kyc/kyc-link/pkg/secrets"
)

// countingSource counts its calls: single reads by id, and batches.
type countingSource struct {
	secrets.Memory
	mu      sync.Mutex
	singles []string
	batches [][]string
	fail    bool // the batch call fails
	omit    string
}

func (c *countingSource) SecretString(ctx context.Context, id string) (string, error) {
	c.mu.Lock()
	c.singles = append(c.singles, id)
	c.mu.Unlock()
	return c.Memory.SecretString(ctx, id)
}

func (c *countingSource) SecretStrings(ctx context.Context, ids []string) (map[string]string, error) {
	c.mu.Lock()
	c.batches = append(c.batches, ids)
	c.mu.Unlock()
	if c.fail {
		return nil, errors.New("batch refused")
	}
	out, _ := c.Memory.SecretStrings(ctx, ids)
	delete(out, c.omit)
	return out, nil
}

func upper(s string) (string, error) {
	if s == "bad" {
		return "", errors.New("malformed")
	}
	return strings.ToUpper(s), nil
}

// TestPreloadAll: one batch fills every cache; what the batch did not
// bring (left out, malformed, or the batch failed) loads on its own, with
// its own error.
func TestPreloadAll(t *testing.T) {
	for _, tc := range []struct {
		name        string
		src         *countingSource
		wantSingles []string
		wantErr     bool
	}{
		{"one batch", &countingSource{Memory: secrets.Memory{"a": "x", "b": "y", "c": "z"}}, nil, false},
		{"one left out", &countingSource{Memory: secrets.Memory{"a": "x", "b": "y", "c": "z"}, omit: "b"}, []string{"b"}, false},
		{"one malformed", &countingSource{Memory: secrets.Memory{"a": "x", "b": "bad", "c": "z"}}, []string{"b"}, true},
		{"one missing", &countingSource{Memory: secrets.Memory{"a": "x", "c": "z"}}, []string{"b"}, true},
		{"the batch fails", &countingSource{Memory: secrets.Memory{"a": "x", "b": "y", "c": "z"}, fail: true}, []string{"a", "b", "c"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var caches []*secrets.Cached[string]
			var pre []secrets.Preloadable
			for _, id := range []string{"a", "b", "c"} {
				c := &secrets.Cached[string]{Source: tc.src, ID: id, Parse: upper, MaxAge: time.Hour}
				caches, pre = append(caches, c), append(pre, c)
			}
			err := secrets.PreloadAll(context.Background(), tc.src, pre)
			if (err != nil) != tc.wantErr {
				t.Errorf("PreloadAll = %v; want an error: %v", err, tc.wantErr)
			}
			if len(tc.src.batches) != 1 || strings.Join(tc.src.batches[0], ",") != "a,b,c" {
				t.Errorf("batches %v; want one of a,b,c", tc.src.batches)
			}
			tc.src.mu.Lock()
			singles := slices.Clone(tc.src.singles)
			slices.Sort(singles)
			tc.src.mu.Unlock()
			if !slices.Equal(singles, tc.wantSingles) {
				t.Errorf("single reads %s; want %v", singles, tc.wantSingles)
			}
			// What was filled is served without another read.
			tc.src.mu.Lock()
			before := len(tc.src.singles)
			tc.src.mu.Unlock()
			for i, c := range caches {
				v, err := c.Get(context.Background())
				want := map[int]string{0: "X", 1: "Y", 2: "Z"}[i]
				if err == nil && v != want {
					t.Errorf("%s = %q; want %q", c.ID, v, want)
				}
			}
			tc.src.mu.Lock()
			after := len(tc.src.singles)
			tc.src.mu.Unlock()
			if !tc.wantErr && after != before {
				t.Errorf("a preloaded cache read again")
			}
		})
	}
	// Without a batch read, each loads on its own.
	m := secrets.Memory{"a": "x"}
	c := &secrets.Cached[string]{Source: m, ID: "a", Parse: upper}
	if err := secrets.PreloadAll(context.Background(), singleOnly{m}, []secrets.Preloadable{c, c}); err != nil {
		t.Fatal(err)
	}
}

type singleOnly struct{ m secrets.Memory }

func (s singleOnly) SecretString(ctx context.Context, id string) (string, error) {
	return s.m.SecretString(ctx, id)
}
