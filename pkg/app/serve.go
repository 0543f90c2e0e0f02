package app

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"
)

// Local server limits. Reading the body is further bounded by each
// request's deadline (httpapi), so these are the backstops for what comes
// before the handler runs and after it answered.
const (
	readHeaderTimeout = 5 * time.Second
	idleTimeout       = 30 * time.Second
	// maxHeaderBytes is net/http's own limit, above httpapi.MaxHeaderBytes
	// so that oversized headers up to it get our Grid-shaped 400; beyond it
	// net/http answers 431 itself.
	maxHeaderBytes = 1 << 20
)

// Serve serves the entry's routes on ln with the local server's limits,
// and runs its background loops, until ctx ends; then it drains.
func (s *Service) Serve(ctx context.Context, ln net.Listener) error {
	loops := make(chan struct{})
	go func() { s.Run(ctx); close(loops) }()
	defer func() { <-loops }()
	srv := s.server()
	srv.Handler = s.root.tracing.HTTPHandler(s.root.cfg.ServiceName, s.handler)
	defer s.root.shutdownTracing()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// shutdownTracing sends the spans still buffered when a local process
// stops.
func (r *root) shutdownTracing() {
	tr := r.tracing
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := tr.Shutdown(ctx); err != nil {
		r.logger.Warn("spans not exported at exit", "error", err.Error())
	}
}

// server is the local HTTP server: every phase of a connection is bounded,
// so a slow or idle client holds nothing for long.
func (s *Service) server() *http.Server {
	timeout := s.root.cfg.RequestTimeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	return &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readHeaderTimeout + timeout,
		WriteTimeout:      readHeaderTimeout + timeout + 5*time.Second,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
	}
}

// Curl is a ready-to-paste request for the seed's demo customer.
func (s Seed) Curl(baseURL string) string {
	if s.Demo.TokenID == "" {
		return ""
	}
	d := s.Demo
	return fmt.Sprintf(`curl -sS -X POST -u '%s:%s' -H 'Content-Type: application/json' -H "Idempotency-Key: $(date +%%s%%N)" -d '{"redirectUri":"https://app.example.com/onboarding/done"}' '%s/customers/%s/kyc-link'`,
		d.TokenID, d.ClientSecret, baseURL, d.CustomerID)
}
