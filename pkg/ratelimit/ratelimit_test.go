package ratelimit_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/grid-kyc/kyc-link/pkg/kyc"
	"github.com/grid-kyc/kyc-link/pkg/memstore"
	"github.com/grid-kyc/kyc-link/pkg/ratelimit"
)

type clock struct{ ns atomic.Int64 }

func (c *clock) Now() time.Time      { return time.Unix(0, c.ns.Load()) }
func (c *clock) Add(d time.Duration) { c.ns.Add(int64(d)) }

func TestWindow(t *testing.T) {
	for _, tc := range []struct {
		l    ratelimit.Limit
		want time.Duration
	}{
		{ratelimit.Limit{Rate: 2, Burst: 10}, 5 * time.Second},
		{ratelimit.Limit{Rate: 8, Burst: 8}, time.Second},
		{ratelimit.Limit{Rate: 100, Burst: 1}, time.Second}, // at least a second
		{ratelimit.Limit{Rate: 0.5, Burst: 3}, 6 * time.Second},
	} {
		if got := tc.l.Window(); got != tc.want {
			t.Errorf("%+v.Window() = %s; want %s", tc.l, got, tc.want)
		}
	}
}

// backends runs f against the memory counter and, with the integration
// tag, DynamoDB (moto), whose platforms table gives platform "a" its own
// limit.
func backends(t *testing.T, f func(t *testing.T, counter ratelimit.Counter, overrides *ratelimit.Overrides)) {
	def := ratelimit.Limit{Rate: 10, Burst: 5}
	t.Run("memory", func(t *testing.T) {
		f(t, &memstore.RateCounters{}, &ratelimit.Overrides{Default: def, Now: time.Now, MaxAge: time.Hour})
	})
	if dynamoBackend != nil {
		t.Run("dynamodb", func(t *testing.T) { dynamoBackend(t, def, f) })
	}
}

// dynamoBackend runs f on DynamoDB (moto), with the integration tag
// (ratelimit_aws_test.go).
var dynamoBackend func(t *testing.T, def ratelimit.Limit, f func(t *testing.T, counter ratelimit.Counter, overrides *ratelimit.Overrides))

// TestTwoPlatformsAndGlobalCap: each platform has its own budget, the
// global cap binds them all, a platform refused by its own limit uses up
// none of the global one, and a new window starts afresh.
func TestTwoPlatformsAndGlobalCap(t *testing.T) {
	backends(t, func(t *testing.T, counter ratelimit.Counter, overrides *ratelimit.Overrides) {
		ctx := context.Background()
		clk := &clock{}
		clk.Add(time.Duration(1_800_000_000) * time.Second) // a window boundary
		l := &ratelimit.Limiter{Counter: counter, Platform: overrides, Now: clk.Now, Global: ratelimit.Limit{Rate: 4, Burst: 4}}
		// Only the DynamoDB backend gives "a" its own limit (1/s, burst 2).
		aBurst := 5
		if overrides.Source != nil {
			aBurst = 2
		}
		allow := func(platform string, want bool) {
			t.Helper()
			err := check(l, ctx, platform)
			var lim *ratelimit.ErrLimited
			switch {
			case want && err != nil:
				t.Fatalf("%s refused: %v; want allowed", platform, err)
			case !want && !errors.As(err, &lim):
				t.Fatalf("%s = %v; want rate limited", platform, err)
			case !want && (lim.RetryAfter <= 0 || lim.RetryAfter > 5*time.Second):
				t.Fatalf("%s Retry-After %s; want the rest of its window", platform, lim.RetryAfter)
			}
		}
		settle := func() { time.Sleep(100 * time.Millisecond) } // background give-backs
		if aBurst == 2 {
			allow("a", true)
			allow("a", true)
			allow("a", false) // a's own limit
			settle()
			allow("b", true) // the refused "a" left the global quota alone: 3 of 4
			allow("b", true) // 4 of 4
			allow("b", false)
			settle()
			allow("c", false) // the global cap binds every platform
		} else {
			for range 4 {
				allow("b", true)
			}
			allow("b", false) // global cap (4) before b's own (5)
			settle()
			allow("a", false)
		}
		clk.Add(5 * time.Second) // past every window
		allow("a", true)
		allow("b", true)
	})
}

// TestConcurrentRequestsNeverExceedTheBurst: requests of one platform
// arriving at once are allowed exactly up to its burst in each window,
// however they interleave: the count is one conditional ADD per request,
// atomic in DynamoDB (moto is made atomic by the harness).
func TestConcurrentRequestsNeverExceedTheBurst(t *testing.T) {
	backends(t, func(t *testing.T, counter ratelimit.Counter, overrides *ratelimit.Overrides) {
		const requests, burst, windows = 20, 5, 5 // "b" has the default limit, burst 5
		clk := &clock{}
		clk.Add(time.Duration(1_800_000_000) * time.Second)
		l := &ratelimit.Limiter{Counter: counter, Platform: overrides, Now: clk.Now, Global: ratelimit.Limit{Rate: 1000, Burst: 1000}}
		for w := range windows {
			errs := make([]error, requests)
			start := make(chan struct{})
			var wg sync.WaitGroup
			for i := range requests {
				wg.Go(func() {
					<-start
					errs[i] = check(l, context.Background(), "b")
				})
			}
			close(start)
			wg.Wait()
			allowed := 0
			for _, err := range errs {
				var lim *ratelimit.ErrLimited
				switch {
				case err == nil:
					allowed++
				case !errors.As(err, &lim):
					t.Fatalf("window %d: %v; want allowed or rate limited", w, err)
				}
			}
			if allowed != burst {
				t.Fatalf("window %d: %d of %d concurrent requests allowed; want exactly the burst, %d", w, allowed, requests, burst)
			}
			clk.Add(time.Second) // the next window of "b" (windows last at least a second)
		}
	})
}

type brokenCounter struct{}

func (brokenCounter) Take(context.Context, string, int, time.Time) (bool, error) {
	return false, errors.New("store down")
}
func (brokenCounter) Give(context.Context, string) error { return nil }

// TestStoreFailureIsNotALimit: a counter store that fails is an error, not
// a refusal (the edge lets the link through and logs it).
func TestStoreFailureIsNotALimit(t *testing.T) {
	l := &ratelimit.Limiter{Counter: brokenCounter{}, Now: time.Now, Global: ratelimit.Limit{Rate: 1, Burst: 1},
		Platform: &ratelimit.Overrides{Default: ratelimit.Limit{Rate: 1, Burst: 1}}}
	err := check(l, context.Background(), "p")
	var lim *ratelimit.ErrLimited
	if err == nil || errors.As(err, &lim) {
		t.Fatalf("Allow with a broken store = %v; want an error that is not a refusal", err)
	}
}

// check is Allow with a refusal as the *ErrLimited it was counted as.
func check(l *ratelimit.Limiter, ctx context.Context, platformID string) error {
	d, err := l.Allow(ctx, platformID)
	if d > 0 {
		return &ratelimit.ErrLimited{RetryAfter: d}
	}
	return err
}

var _ kyc.Limiter = (*ratelimit.Limiter)(nil)

// limitsOf is a PlatformLimits from a map that counts its reads per
// platform; it fails the test that scans it.
type limitsOf struct {
	t      *testing.T
	limits map[string]ratelimit.Limit
	mu     sync.Mutex
	reads  map[string]int
}

func (l *limitsOf) PlatformLimit(_ context.Context, id string) (ratelimit.Limit, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.reads == nil {
		l.reads = map[string]int{}
	}
	l.reads[id]++
	return l.limits[id], nil
}

func (l *limitsOf) read(id string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.reads[id]
}

// waitFor waits until cond holds (what the background load does).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not after 10 s", what)
		}
	}
}

// loaded waits until o gives platformID want: its own limit, which the
// first Limit call started loading in the background.
func loaded(t *testing.T, o *ratelimit.Overrides, platformID string, want ratelimit.Limit) {
	t.Helper()
	waitFor(t, fmt.Sprintf("Limit(%s) = %+v", platformID, want), func() bool {
		got, err := o.Limit(context.Background(), platformID)
		return err == nil && got == want
	})
}

// TestOverridesFillWhatAPlatformDoesNotSet: a platform's own rate or
// burst overrides the default one field at a time. Nothing is loaded
// ahead: each platform's limit is read on its first use, which waits for
// it (so a lower limit holds from the first link), once, and kept for
// MaxAge.
func TestOverridesFillWhatAPlatformDoesNotSet(t *testing.T) {
	def := ratelimit.Limit{Rate: 2, Burst: 10}
	src := &limitsOf{t: t, limits: map[string]ratelimit.Limit{"rate": {Rate: 5}, "burst": {Burst: 3}, "both": {Rate: 1, Burst: 1}, "none": {}}}
	o := &ratelimit.Overrides{Default: def, Now: time.Now, MaxAge: time.Hour, Source: src}
	want := map[string]ratelimit.Limit{
		"rate": {Rate: 5, Burst: 10}, "burst": {Rate: 2, Burst: 3}, "both": {Rate: 1, Burst: 1}, "none": def, "unknown": def,
	}
	for range 2 {
		for id, w := range want {
			if got, err := o.Limit(context.Background(), id); err != nil || got != w {
				t.Errorf("Limit(%s) = %+v, %v; want %+v", id, got, err, w)
			}
		}
	}
	for id := range want {
		if n := src.read(id); n != 1 {
			t.Errorf("platform %s read %d times; want once (kept for MaxAge)", id, n)
		}
	}
}

// gatedLimits answers a load only when let through, or fails.
type gatedLimits struct {
	gate  chan struct{}
	fail  atomic.Bool
	reads atomic.Int32
}

func (g *gatedLimits) PlatformLimit(ctx context.Context, _ string) (ratelimit.Limit, error) {
	g.reads.Add(1)
	select {
	case <-g.gate:
	case <-ctx.Done():
		return ratelimit.Limit{}, ctx.Err()
	}
	if g.fail.Load() {
		return ratelimit.Limit{}, errors.New("store down")
	}
	return ratelimit.Limit{Rate: 1, Burst: 1}, nil
}

// TestOverridesFirstLinksShareOneLoad: links arriving while a platform's
// limit loads wait for that one load and all get the platform's own
// (lower) limit; a caller whose time runs out first gets the default.
func TestOverridesFirstLinksShareOneLoad(t *testing.T) {
	g := &gatedLimits{gate: make(chan struct{})}
	o := &ratelimit.Overrides{Default: ratelimit.Limit{Rate: 2, Burst: 10}, Now: time.Now, MaxAge: time.Hour, Source: g}
	short, cancel := context.WithCancel(context.Background())
	cancel()
	if got, _ := o.Limit(short, "p"); got != o.Default {
		t.Errorf("a caller out of time got %+v; want the default", got)
	}
	var wg sync.WaitGroup
	got := make([]ratelimit.Limit, 10)
	for i := range got {
		wg.Go(func() { got[i], _ = o.Limit(context.Background(), "p") })
	}
	waitFor(t, "the load started", func() bool { return g.reads.Load() >= 1 })
	close(g.gate)
	wg.Wait()
	for i, l := range got {
		if l != (ratelimit.Limit{Rate: 1, Burst: 1}) {
			t.Errorf("link %d got %+v; want the platform's own limit", i, l)
		}
	}
	if n := g.reads.Load(); n != 1 {
		t.Errorf("%d loads; want one shared", n)
	}
}

// TestOverridesBackOffAfterAFailedLoad: a load that fails gives the
// default, and the next load comes no sooner than RetryAfter.
func TestOverridesBackOffAfterAFailedLoad(t *testing.T) {
	g := &gatedLimits{gate: make(chan struct{})}
	close(g.gate)
	g.fail.Store(true)
	now := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	o := &ratelimit.Overrides{Default: ratelimit.Limit{Rate: 2, Burst: 10}, Now: clock, MaxAge: time.Hour, RetryAfter: 5 * time.Second, Source: g}
	for range 20 {
		if got, _ := o.Limit(context.Background(), "p"); got != o.Default {
			t.Fatalf("with the store down: %+v; want the default", got)
		}
	}
	if n := g.reads.Load(); n != 1 {
		t.Errorf("%d loads within RetryAfter; want 1", n)
	}
	g.fail.Store(false)
	mu.Lock()
	now = now.Add(5 * time.Second)
	mu.Unlock()
	if got, _ := o.Limit(context.Background(), "p"); got != (ratelimit.Limit{Rate: 1, Burst: 1}) {
		t.Errorf("after RetryAfter: %+v; want the platform's own limit", got)
	}
}
