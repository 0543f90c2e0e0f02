package app

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"
)

// TestLocalServerBoundsEveryPhase: no phase of a connection (headers, body,
// writing, idling between requests) is unbounded.
func TestLocalServerBoundsEveryPhase(t *testing.T) {
	cfg, err := ConfigFromEnv(func(string) string { return "" }, false)
	if err != nil {
		t.Fatal(err)
	}
	a, err := Build(context.Background(), cfg, slog.New(slog.NewJSONHandler(io.Discard, nil)), LinkFunction)
	if err != nil {
		t.Fatal(err)
	}
	srv := a.server()
	for name, d := range map[string]time.Duration{
		"ReadHeaderTimeout": srv.ReadHeaderTimeout, "ReadTimeout": srv.ReadTimeout,
		"WriteTimeout": srv.WriteTimeout, "IdleTimeout": srv.IdleTimeout,
	} {
		if d <= 0 || d > time.Minute {
			t.Errorf("%s = %s; want a bound of at most a minute", name, d)
		}
	}
	if srv.ReadTimeout < cfg.RequestTimeout {
		t.Errorf("ReadTimeout %s is shorter than a request may take (%s)", srv.ReadTimeout, cfg.RequestTimeout)
	}
	if srv.MaxHeaderBytes <= 0 {
		t.Error("MaxHeaderBytes unset")
	}
}
