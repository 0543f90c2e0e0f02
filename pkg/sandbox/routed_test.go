package sandbox_test

import (
	"io"
	"log/slog"
	"net/http"

	"github.com/grid-kyc/kyc-link/pkg/httpapi"
	"github.com/grid-kyc/kyc-link/pkg/sandbox"
)

// routed serves the sandbox's pages and inbox behind the service's router,
// which gives each its route.
func routed(p *sandbox.Provider, in *sandbox.Inbox) http.Handler {
	return (&httpapi.Server{Sandbox: p, Inbox: in, Logger: slog.New(slog.NewJSONHandler(io.Discard, nil))}).Handler()
}
