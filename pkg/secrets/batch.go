package secrets

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

// BatchSource reads several secrets in one call (Secrets Manager's
// BatchGetSecretValue). found holds the ids it could read; an id it could
// not is simply absent (err is for the call as a whole).
type BatchSource interface {
	SecretStrings(ctx context.Context, ids []string) (found map[string]string, err error)
}

// Preloadable is a cache a batch can fill: its id, what to do with the
// value a batch read, and its own load for what the batch did not bring.
type Preloadable interface {
	SecretID() string
	Offer(value string) error
	Preload(ctx context.Context) error
}

var (
	_ Preloadable = (*Cached[string])(nil)
	_ BatchSource = Memory(nil)
)

// SecretID is the id of c's secret.
func (c *Cached[T]) SecretID() string { return c.ID }

// Offer sets c's value from value, read elsewhere (a batch) as c's load
// would have read it: parsed, and loaded now. A load running meanwhile is
// left to finish (its value is as fresh).
func (c *Cached[T]) Offer(value string) error {
	v, err := c.Parse(value)
	if err != nil {
		return fmt.Errorf("secret %q: %w: %w", c.ID, ErrFormat, err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	c.val, c.loaded, c.loadedAt, c.lastAttempt, c.lastErr = v, true, now, now, nil
	return nil
}

// Preload loads c (Load, without the value).
func (c *Cached[T]) Preload(ctx context.Context) error {
	_, err := c.Load(ctx)
	return err
}

// PreloadAll fills caches ahead of the first request: with one batch
// read of every id when src is a BatchSource (and there is more than one),
// each on its own otherwise; a cache the batch did not fill (missing,
// refused, malformed, the batch failed) loads on its own, so that its
// error is the one a request would meet. The caches' errors are joined.
func PreloadAll(ctx context.Context, src Source, caches []Preloadable) error {
	rest := caches
	if b, ok := src.(BatchSource); ok && len(caches) > 1 {
		ids := make([]string, 0, len(caches))
		for _, c := range caches {
			ids = append(ids, c.SecretID())
		}
		found, _ := b.SecretStrings(ctx, ids) // what it missed loads below
		rest = nil
		for _, c := range caches {
			if v, ok := found[c.SecretID()]; !ok || c.Offer(v) != nil {
				rest = append(rest, c)
			}
		}
	}
	errs := make([]error, len(rest))
	var wg sync.WaitGroup
	for i, c := range rest {
		wg.Go(func() { errs[i] = c.Preload(ctx) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// SecretStrings reads ids from memory.
func (m Memory) SecretStrings(_ context.Context, ids []string) (map[string]string, error) {
	out := map[string]string{}
	for _, id := range ids {
		if s, ok := m[id]; ok {
			out[id] = s
		}
	}
	return out, nil
}
