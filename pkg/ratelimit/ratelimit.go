// Package ratelimit limits links per platform, and in all, across every
// Lambda instance: fixed-window counters in a shared store, one atomic
// conditional increment per window and key.
//
// A limit of Rate per second with Burst is enforced as at most Burst links
// in each window of Burst/Rate seconds (at least one second): the same
// long-run rate as a token bucket, the same burst, without reading before
// writing.
package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/grid-kyc/kyc-link/pkg/telemetry"
)

// Limit is a rate (per second) and a burst.
type Limit struct {
	Rate  float64
	Burst int
}

// Window is the fixed window the limit is counted in.
func (l Limit) Window() time.Duration {
	w := time.Duration(float64(l.Burst) / l.Rate * float64(time.Second))
	return max(w.Truncate(time.Millisecond), time.Second)
}

// Counter counts takes per window in a shared store.
type Counter interface {
	// Take counts one for key unless it already has limit; it reports
	// whether it counted. expires is when the count may be forgotten.
	Take(ctx context.Context, key string, limit int, expires time.Time) (bool, error)
	// Give takes back one count of key.
	Give(ctx context.Context, key string) error
}

// Limits supplies a platform's limit.
type Limits interface {
	Limit(ctx context.Context, platformID string) (Limit, error)
}

// Limiter refuses links over a platform's limit or over the global one.
type Limiter struct {
	Counter  Counter
	Platform Limits
	Global   Limit
	Now      func() time.Time
}

// ErrLimited is a refusal; the error says when to retry.
type ErrLimited struct{ RetryAfter time.Duration }

func (e *ErrLimited) Error() string {
	return fmt.Sprintf("rate limited; retry after %s", e.RetryAfter)
}

// Allow counts one link against platformID's limit and the global one, as
// kyc.Links asks (kyc.Limiter): a refusal is retryAfter > 0; an error means
// the counter store could not tell.
func (l *Limiter) Allow(ctx context.Context, platformID string) (retryAfter time.Duration, err error) {
	err = l.check(ctx, platformID)
	var lim *ErrLimited
	if errors.As(err, &lim) {
		return max(lim.RetryAfter, time.Millisecond), nil
	}
	return 0, err
}

// check counts one link for platformID against its limit and the global
// one, side by side (one round trip). It returns *ErrLimited when either
// is used up, and another error when the store cannot say. When only one
// of the two counted, that count is given back (in the background), so a
// platform refused by its own limit does not use up the global quota the
// other platforms share.
func (l *Limiter) check(ctx context.Context, platformID string) error {
	now := l.Now()
	type result struct {
		key string
		err error
	}
	global := make(chan result, 1)
	go func() {
		key, err := l.take(ctx, "global", l.Global, now)
		global <- result{key, err}
	}()
	var own result
	if pl, err := l.Platform.Limit(ctx, platformID); err != nil {
		own.err = err
	} else {
		own.key, own.err = l.take(ctx, "platform#"+platformID, pl, now)
	}
	g := <-global
	for _, pair := range [][2]result{{own, g}, {g, own}} {
		counted, refused := pair[0], pair[1]
		var lim *ErrLimited
		if counted.err == nil && counted.key != "" && errors.As(refused.err, &lim) {
			go func() {
				bg, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
				defer cancel()
				l.Counter.Give(bg, counted.key)
			}()
		}
	}
	var a, b *ErrLimited
	if errors.As(own.err, &a) && errors.As(g.err, &b) {
		return &ErrLimited{RetryAfter: max(a.RetryAfter, b.RetryAfter)}
	}
	return errors.Join(own.err, g.err)
}

// take counts one in key's current window and returns the counter's key;
// "" when lim is unlimited.
func (l *Limiter) take(ctx context.Context, key string, lim Limit, now time.Time) (string, error) {
	if lim.Rate <= 0 || lim.Burst <= 0 {
		return "", nil // unlimited
	}
	w := lim.Window()
	start := now.Truncate(w)
	end := start.Add(w)
	counter := key + "#" + strconv.FormatInt(start.UnixMilli(), 10)
	ok, err := l.Counter.Take(ctx, counter, lim.Burst, end.Add(time.Minute))
	if err != nil {
		return "", err
	}
	if !ok {
		return "", &ErrLimited{RetryAfter: end.Sub(now)}
	}
	return counter, nil
}

// PlatformLimits reads the limits platforms have of their own (the
// platforms table's rateLimit and rateBurst): a zero field is one the
// platform does not set.
type PlatformLimits interface {
	PlatformLimit(ctx context.Context, platformID string) (Limit, error)
}

// Overrides supplies per-platform limits from Source, loaded per platform
// (no start-up Scan: its cost would grow with the platforms). A
// platform's first link in a process waits for its own limit (one
// GetItem, shared by the links that arrive meanwhile, bounded by the
// caller's context), so a limit lower than Default holds from the first
// link; a load that fails or runs out of time gives Default, and the next
// is tried no sooner than RetryAfter. A cached limit older than MaxAge is
// served while a fresh one loads in the background. Without a Source
// every platform has Default.
type Overrides struct {
	Source  PlatformLimits
	Default Limit
	MaxAge  time.Duration
	Now     func() time.Time
	// RetryAfter spaces the loads of a platform whose last load failed
	// (zero: 5 s), so a failing store is not asked on every link.
	RetryAfter time.Duration

	mu       sync.Mutex
	cache    map[string]cached
	loading  map[string]chan struct{}
	failedAt map[string]time.Time
}

type cached struct {
	limit Limit
	at    time.Time
}

func (o *Overrides) Limit(ctx context.Context, platformID string) (Limit, error) {
	if o.Source == nil {
		return o.Default, nil
	}
	o.mu.Lock()
	c, ok := o.cache[platformID]
	done, inFlight := o.loading[platformID]
	retry := o.RetryAfter
	if retry == 0 {
		retry = 5 * time.Second
	}
	failed, hasFailed := o.failedAt[platformID]
	if (!ok || o.Now().Sub(c.at) >= o.MaxAge) && !inFlight && (!hasFailed || o.Now().Sub(failed) >= retry) {
		if o.loading == nil {
			o.loading = map[string]chan struct{}{}
		}
		done, inFlight = make(chan struct{}), true
		o.loading[platformID] = done
		go o.load(telemetry.Detach(ctx), platformID, done)
	}
	o.mu.Unlock()
	if ok {
		return c.limit, nil // refreshed in the background when stale
	}
	if !inFlight {
		return o.Default, nil // the last load failed moments ago
	}
	select {
	case <-done:
	case <-ctx.Done():
		return o.Default, nil
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if c, ok := o.cache[platformID]; ok {
		return c.limit, nil
	}
	return o.Default, nil
}

// load reads platformID's limit; it is the caller's child in its trace,
// and outlives the caller's wait (the next link uses what it read).
func (o *Overrides) load(caller context.Context, platformID string, done chan struct{}) {
	ctx, cancel := context.WithTimeout(caller, 5*time.Second)
	defer cancel()
	l, err := o.Source.PlatformLimit(ctx, platformID)
	o.mu.Lock()
	defer o.mu.Unlock()
	delete(o.loading, platformID)
	if err == nil {
		o.put(platformID, l)
		delete(o.failedAt, platformID)
	} else {
		if o.failedAt == nil {
			o.failedAt = map[string]time.Time{}
		}
		o.failedAt[platformID] = o.Now()
	}
	close(done)
}

// put caches a platform's limit, Default where it sets none; mu must be
// held.
func (o *Overrides) put(platformID string, l Limit) {
	if l.Rate <= 0 {
		l.Rate = o.Default.Rate
	}
	if l.Burst <= 0 {
		l.Burst = o.Default.Burst
	}
	if o.cache == nil {
		o.cache = map[string]cached{}
	}
	o.cache[platformID] = cached{limit: l, at: o.Now()}
}
