package secrets

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// Cached keeps a parsed secret in memory. It reloads the secret when the copy
// is older than MaxAge; if that reload fails it keeps serving the last good
// value (and logs), so a Secrets Manager outage after the first load does
// not fail requests.
type Cached[T any] struct {
	Source Source
	ID     string
	Parse  func(string) (T, error)
	MaxAge time.Duration
	// MinInterval bounds how often Refresh may reach the source.
	MinInterval time.Duration
	Logger      *slog.Logger
	Now         func() time.Time

	mu          sync.Mutex
	val         T
	loaded      bool
	loadedAt    time.Time
	lastAttempt time.Time
}

func (c *Cached[T]) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// Get returns the cached value, loading it first when there is none or it is
// stale. It fails only when no good value was ever loaded.
func (c *Cached[T]) Get(ctx context.Context) (T, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.loaded && c.now().Sub(c.loadedAt) < c.MaxAge {
		return c.val, nil
	}
	return c.reload(ctx)
}

// Refresh reloads the value now unless the source was asked less than
// MinInterval ago. It reports whether it reached the source.
func (c *Cached[T]) Refresh(ctx context.Context) (T, bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.lastAttempt.IsZero() && c.now().Sub(c.lastAttempt) < c.MinInterval {
		if !c.loaded {
			var zero T
			return zero, false, fmt.Errorf("secret %q not loaded yet", c.ID)
		}
		return c.val, false, nil
	}
	v, err := c.reload(ctx)
	return v, true, err
}

// reload must be called with mu held; holding it makes concurrent cold
// callers share one load instead of each calling the source.
func (c *Cached[T]) reload(ctx context.Context) (T, error) {
	c.lastAttempt = c.now()
	v, err := c.load(ctx)
	if err != nil {
		if c.loaded {
			c.logger().WarnContext(ctx, "secret refresh failed; serving the last good value",
				"secret_id", c.ID, "age", c.now().Sub(c.loadedAt).String(), "error", err.Error())
			return c.val, nil
		}
		var zero T
		return zero, err
	}
	c.val, c.loaded, c.loadedAt = v, true, c.now()
	return v, nil
}

func (c *Cached[T]) load(ctx context.Context) (T, error) {
	var zero T
	s, err := c.Source.SecretString(ctx, c.ID)
	if err != nil {
		return zero, err
	}
	v, err := c.Parse(s)
	if err != nil {
		// Parse functions must not quote the secret in their errors.
		return zero, fmt.Errorf("secret %q is not in the expected format: %w", c.ID, err)
	}
	return v, nil
}

func (c *Cached[T]) logger() *slog.Logger {
	if c.Logger != nil {
		return c.Logger
	}
	return slog.Default()
}
