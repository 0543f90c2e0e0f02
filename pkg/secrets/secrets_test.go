package secrets_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/grid-kyc/kyc-link/internal/motoserver"
	"github.com/grid-kyc/kyc-link/pkg/secrets"
)

var moto *motoserver.Server

func TestMain(m *testing.M) { os.Exit(motoserver.Main(m, &moto)) }

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

func TestSecretsManagerSource(t *testing.T) {
	// A fresh name per run: the emulator outlives one run under -count.
	id := "kyc/present-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	moto.PutSecret(t, id, `{"a":"b"}`)
	testSource(t, &secrets.SecretsManager{Client: moto.SecretsManager()}, id)
}

// flaky is a Source that counts calls and fails while down is set.
type flaky struct {
	calls atomic.Int32
	down  atomic.Bool
}

func (f *flaky) SecretString(context.Context, string) (string, error) {
	n := f.calls.Add(1)
	if f.down.Load() {
		return "", errors.New("unreachable")
	}
	return strconv.Itoa(int(n)), nil
}

func TestCachedLoadsOnceRefreshesAndSurvivesOutage(t *testing.T) {
	ctx := context.Background()
	now := time.Unix(0, 0)
	src := &flaky{}
	var logs bytes.Buffer
	c := &secrets.Cached[string]{Source: src, ID: "x", Parse: func(s string) (string, error) { return s, nil },
		MaxAge: 5 * time.Minute, MinInterval: 30 * time.Second, Now: func() time.Time { return now },
		Logger: slog.New(slog.NewJSONHandler(&logs, nil))}

	src.down.Store(true)
	if _, err := c.Get(ctx); err == nil {
		t.Fatal("cold load during an outage must fail (and the caller answer 503)")
	}
	src.down.Store(false)
	now = now.Add(time.Second)
	if v, err := c.Get(ctx); err != nil || v != "2" {
		t.Fatalf("Get after recovery = %q, %v", v, err)
	}
	if v, _ := c.Get(ctx); v != "2" || src.calls.Load() != 2 {
		t.Fatalf("a fresh value must be served from memory; calls = %d", src.calls.Load())
	}
	// Early refresh is rate limited.
	now = now.Add(10 * time.Second)
	if _, reached, _ := c.Refresh(ctx); reached {
		t.Fatal("Refresh within MinInterval reached the source")
	}
	now = now.Add(30 * time.Second)
	if v, reached, _ := c.Refresh(ctx); !reached || v != "3" {
		t.Fatalf("Refresh after MinInterval = %q, %v", v, reached)
	}
	// A stale value is reloaded; if the reload fails the last good value
	// is served.
	now = now.Add(6 * time.Minute)
	src.down.Store(true)
	if v, err := c.Get(ctx); err != nil || v != "3" {
		t.Fatalf("Get during outage after a good load = %q, %v; want the last good value", v, err)
	}
	if !strings.Contains(logs.String(), "serving the last good value") {
		t.Fatalf("the failed refresh was not logged: %q", logs.String())
	}
}
