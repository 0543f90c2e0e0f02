package secrets_test

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/grid-kyc/kyc-link/internal/logbuf"
	"github.com/grid-kyc/kyc-link/pkg/kyc"
	"github.com/grid-kyc/kyc-link/pkg/secrets"
)

// testSource is the conformance suite every Source passes.
func testSource(t *testing.T, src secrets.Source, present string) {
	ctx := context.Background()
	got, err := src.SecretString(ctx, present)
	if err != nil || got != `{"a":"b"}` {
		t.Fatalf("SecretString(present) = %q, %v", got, err)
	}
	if _, err := src.SecretString(ctx, "kyc/absent"); !errors.Is(err, secrets.ErrNotFound) {
		t.Fatalf("SecretString(absent) = %v; want ErrNotFound", err)
	}
}

func TestMemorySource(t *testing.T) {
	testSource(t, secrets.Memory{"kyc/present": `{"a":"b"}`}, "kyc/present")
}

// flaky is a Source that counts calls, fails while down is set, and holds
// each call while hold is set until it is released.
type flaky struct {
	calls   atomic.Int32
	down    atomic.Bool
	hold    atomic.Bool
	release chan struct{}
	// held receives a value each time a call starts waiting on release.
	held chan struct{}
}

func newFlaky() *flaky { return &flaky{release: make(chan struct{}), held: make(chan struct{}, 100)} }

func (f *flaky) SecretString(ctx context.Context, _ string) (string, error) {
	n := f.calls.Add(1)
	if f.hold.Load() {
		select {
		case f.held <- struct{}{}:
		default:
		}
		select {
		case <-f.release:
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
	if f.down.Load() {
		return "", errors.New("unreachable")
	}
	return strconv.Itoa(int(n)), nil
}

// clock is a settable time source safe for the cache's background loads.
type clock struct{ ns atomic.Int64 }

func (c *clock) Now() time.Time      { return time.Unix(0, c.ns.Load()) }
func (c *clock) Add(d time.Duration) { c.ns.Add(int64(d)) }
func newCache(src secrets.Source, c *clock, logs *logbuf.Buffer) *secrets.Cached[string] {
	return &secrets.Cached[string]{Source: src, ID: "x", Parse: func(s string) (string, error) { return s, nil },
		MaxAge: 5 * time.Minute, MinInterval: 5 * time.Second, Now: c.Now,
		Logger: slog.New(slog.NewJSONHandler(logs, nil))}
}

func wait(t *testing.T, c *secrets.Cached[string]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Wait(ctx); err != nil {
		t.Fatalf("the background load did not end: %v", err)
	}
}

func TestCachedLoadsOnceRefreshesAndSurvivesOutage(t *testing.T) {
	ctx := context.Background()
	clk := &clock{}
	src := newFlaky()
	logs := &logbuf.Buffer{}
	c := newCache(src, clk, logs)

	src.down.Store(true)
	if _, err := c.Get(ctx); err == nil {
		t.Fatal("cold load during an outage must fail (and the caller answer 503)")
	}
	src.down.Store(false)
	clk.Add(time.Second)
	if v, err := c.Get(ctx); err != nil || v != "2" {
		t.Fatalf("Get after recovery = %q, %v; want %q", v, err, "2")
	}
	if v, _ := c.Get(ctx); v != "2" || src.calls.Load() != 2 {
		t.Fatalf("a fresh value must be served from memory: got %q after %d calls, want %q after 2", v, src.calls.Load(), "2")
	}
	// Early refresh is rate limited.
	clk.Add(2 * time.Second)
	if c.Refresh() {
		t.Fatal("Refresh within MinInterval started a load")
	}
	clk.Add(5 * time.Second)
	if !c.Refresh() {
		t.Fatal("Refresh after MinInterval started no load")
	}
	wait(t, c)
	if v, _ := c.Get(ctx); v != "3" {
		t.Fatalf("after the refresh Get = %q; want %q", v, "3")
	}
	// A stale value is served at once and reloaded behind it; if the
	// reload fails the last good value stays.
	clk.Add(6 * time.Minute)
	src.down.Store(true)
	if v, err := c.Get(ctx); err != nil || v != "3" {
		t.Fatalf("stale Get during outage = %q, %v; want the last good value %q", v, err, "3")
	}
	wait(t, c)
	if v, err := c.Get(ctx); err != nil || v != "3" {
		t.Fatalf("Get after a failed reload = %q, %v; want %q", v, err, "3")
	}
	if !strings.Contains(logs.String(), "serving the last good value") {
		t.Fatalf("the failed refresh was not logged: %q", logs.String())
	}
	// The failed reload is retried no sooner than MinInterval.
	calls := src.calls.Load()
	c.Get(ctx)
	wait(t, c)
	if got := src.calls.Load(); got != calls {
		t.Fatalf("a failed reload was retried at once: %d calls, want %d", got, calls)
	}
}

// TestCachedNeverBlocksReadersOnTheSource: with the source hanging, a
// reload (early or stale) must not hold readers that have a value.
func TestCachedNeverBlocksReadersOnTheSource(t *testing.T) {
	ctx := context.Background()
	clk := &clock{}
	src := newFlaky()
	c := newCache(src, clk, &logbuf.Buffer{})
	if _, err := c.Get(ctx); err != nil {
		t.Fatal(err)
	}
	src.hold.Store(true)
	defer close(src.release)

	for _, tc := range []struct {
		name    string
		trigger func()
	}{
		{"early refresh", func() { clk.Add(time.Minute); c.Refresh() }},
		{"stale value", func() { clk.Add(10 * time.Minute) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.trigger()
			got := make(chan string, 20)
			for range 20 {
				go func() { v, _ := c.Get(ctx); got <- v }()
			}
			for range 20 {
				select {
				case v := <-got:
					if v != "1" {
						t.Fatalf("Get = %q; want the cached %q", v, "1")
					}
				case <-time.After(2 * time.Second):
					t.Fatal("Get waited on a hanging source although a value was cached")
				}
			}
		})
	}
	// One load at a time, however many readers found the value stale. The
	// reload runs in the background: wait until it has reached the source
	// (it may not have started when the readers returned).
	select {
	case <-src.held:
	case <-time.After(5 * time.Second):
		t.Fatal("no reload reached the source")
	}
	if n := src.calls.Load(); n != 2 {
		t.Fatalf("source called %d times; want 2 (the first load, one reload in flight)", n)
	}
}

// TestCachedColdReadersShareOneLoad: readers with no value wait for one
// shared load, each only as long as its own context allows.
func TestCachedColdReadersShareOneLoad(t *testing.T) {
	src := newFlaky()
	src.hold.Store(true)
	c := newCache(src, &clock{}, &logbuf.Buffer{})
	short, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := c.Get(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("cold Get past its deadline = %v; want DeadlineExceeded", err)
	}
	results := make(chan string, 10)
	for range 10 {
		go func() { v, _ := c.Get(context.Background()); results <- v }()
	}
	time.Sleep(20 * time.Millisecond)
	close(src.release)
	for range 10 {
		if v := <-results; v != "1" {
			t.Fatalf("cold Get = %q; want %q from the one shared load", v, "1")
		}
	}
	if n := src.calls.Load(); n != 1 {
		t.Fatalf("source called %d times; want 1", n)
	}
}

type downSource struct{}

func (downSource) SecretString(context.Context, string) (string, error) {
	return "", errors.New("connection refused")
}

// TestCachedErrorsNameTheSecrets: what a cache's Get fails with says it
// was the secrets, and whether retrying can help: a missing secret or one
// in the wrong format is our configuration (500), a source that cannot be
// reached an outage (503).
func TestCachedErrorsNameTheSecrets(t *testing.T) {
	parse := func(s string) (string, error) {
		if s != "ok" {
			return "", errors.New("not ok")
		}
		return s, nil
	}
	for _, tc := range []struct {
		name string
		src  secrets.Source
		id   string
		want kyc.Code
	}{
		{"missing", secrets.Memory{}, "absent", kyc.CodeInternal},
		{"bad format", secrets.Memory{"s": "nope"}, "s", kyc.CodeInternal},
		{"source down", downSource{}, "s", kyc.CodeUnavailable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &secrets.Cached[string]{Source: tc.src, ID: tc.id, Parse: parse}
			_, err := c.Get(context.Background())
			e := kyc.AsError(err)
			if e.Code != tc.want || e.Dependency != kyc.DepSecrets {
				t.Fatalf("err = %v (code %s, dependency %q); want %s from %s", err, e.Code, e.Dependency, tc.want, kyc.DepSecrets)
			}
		})
	}
}
