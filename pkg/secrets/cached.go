package secrets

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/grid-kyc/kyc-link/pkg/kyc"
	"github.com/grid-kyc/kyc-link/pkg/telemetry"
)

// Cached keeps a parsed secret in memory. Once a value is loaded, readers
// never wait on the source: a stale value is served while one load runs in
// the background, and if that load fails the last good value stays (and
// the failure is logged). Only a reader with no value yet waits, for the
// one load all such readers share.
type Cached[T any] struct {
	Source Source
	ID     string
	Parse  func(string) (T, error)
	// MaxAge is how long a value is served before a background reload.
	MaxAge time.Duration
	// MinInterval is the least time between two loads that a reader with a
	// value starts (a failed reload is retried no sooner, and Refresh
	// reaches the source at most this often).
	MinInterval time.Duration
	// LoadTimeout bounds one load (default 5 s). A load runs on its own
	// context: the reader who started it may go away, others still wait
	// for it.
	LoadTimeout time.Duration
	Logger      *slog.Logger
	Now         func() time.Time

	mu          sync.Mutex
	val         T
	loaded      bool
	loadedAt    time.Time
	lastAttempt time.Time
	lastErr     error         // of the last load, when it failed
	loading     chan struct{} // closed when the running load ends; nil if none
}

func (c *Cached[T]) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// Get returns the cached value; when it is older than MaxAge a reload
// starts in the background. With no value yet, Get waits for a load (or for
// ctx) and fails only if that load fails.
func (c *Cached[T]) Get(ctx context.Context) (T, error) {
	c.mu.Lock()
	if c.loaded {
		v := c.val
		if c.now().Sub(c.loadedAt) >= c.MaxAge && c.mayRetryLocked() {
			c.startLocked(ctx)
		}
		c.mu.Unlock()
		return v, nil
	}
	done := c.startLocked(ctx)
	c.mu.Unlock()
	return c.await(ctx, done)
}

// Refresh starts a background reload now unless one is running or the
// source was asked less than MinInterval ago. It never waits for the
// source, so a caller's answer time does not depend on it. It reports
// whether it started one.
func (c *Cached[T]) Refresh() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.loading != nil || !c.mayRetryLocked() {
		return false
	}
	c.startLocked(context.Background()) // its own trace: no request waits on it
	return true
}

// Load reloads now (joining a load already running) and waits for it, or
// for ctx. A failed load keeps the last good value, which Load returns.
// It is for priming at start-up.
func (c *Cached[T]) Load(ctx context.Context) (T, error) {
	c.mu.Lock()
	done := c.startLocked(ctx)
	c.mu.Unlock()
	return c.await(ctx, done)
}

// Wait waits until no load is running, or for ctx.
func (c *Cached[T]) Wait(ctx context.Context) error {
	c.mu.Lock()
	done := c.loading
	c.mu.Unlock()
	if done == nil {
		return nil
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (c *Cached[T]) await(ctx context.Context, done <-chan struct{}) (T, error) {
	var zero T
	select {
	case <-done:
	case <-ctx.Done():
		return zero, kyc.Unavailable(kyc.DepSecrets, unavailable, time.Second, fmt.Errorf("secret %q: still loading: %w", c.ID, ctx.Err()))
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.loaded {
		return c.val, nil
	}
	return zero, c.lastErr
}

func (c *Cached[T]) mayRetryLocked() bool {
	return c.lastAttempt.IsZero() || c.now().Sub(c.lastAttempt) >= c.MinInterval
}

// startLocked starts a load unless one is running, and returns the channel
// that closes when it ends. mu must be held.
// The load is the caller's child in its trace, but not bound by its
// deadline: other callers may wait on it.
func (c *Cached[T]) startLocked(caller context.Context) <-chan struct{} {
	if c.loading != nil {
		return c.loading
	}
	done := make(chan struct{})
	c.loading = done
	c.lastAttempt = c.now()
	go func() {
		timeout := c.LoadTimeout
		if timeout <= 0 {
			timeout = 5 * time.Second
		}
		ctx, cancel := context.WithTimeout(telemetry.Detach(caller), timeout)
		v, err := c.load(ctx)
		cancel()
		c.mu.Lock()
		defer c.mu.Unlock()
		c.lastErr = err
		switch {
		case err == nil:
			c.val, c.loaded, c.loadedAt = v, true, c.now()
		case c.loaded:
			c.logger().Warn("secret refresh failed; serving the last good value",
				"secret_id", c.ID, "age", c.now().Sub(c.loadedAt).String(), "error", err.Error())
		}
		c.loading = nil
		close(done)
	}()
	return done
}

func (c *Cached[T]) load(ctx context.Context) (T, error) {
	var zero T
	s, err := c.Source.SecretString(ctx, c.ID)
	if err != nil {
		return zero, tag(err)
	}
	v, err := c.Parse(s)
	if err != nil {
		// Parse functions must not quote the secret in their errors.
		return zero, kyc.Misconfigured(kyc.DepSecrets, fmt.Errorf("secret %q: %w: %w", c.ID, ErrFormat, err))
	}
	return v, nil
}

func (c *Cached[T]) logger() *slog.Logger {
	if c.Logger != nil {
		return c.Logger
	}
	return slog.Default()
}

// unavailable is what a caller is told when a secret cannot be read now.
const unavailable = "The secrets store is temporarily unavailable."

// tag makes a source's failure say it is the secrets' (a source that
// already said so, as awsstore's does, keeps its verdict): a secret that
// does not exist is our configuration, anything else an outage.
func tag(err error) error {
	var e *kyc.Error
	switch {
	case errors.As(err, &e):
		return err
	case errors.Is(err, ErrNotFound):
		return kyc.Misconfigured(kyc.DepSecrets, err)
	default:
		return kyc.Unavailable(kyc.DepSecrets, unavailable, time.Second, err)
	}
}
