//go:build notrace

// tracing_none.go stands in for the OpenTelemetry SDK in a Lambda build
// made without TRACING=1 (Makefile): every method is the no-op it is when
// no endpoint is configured, and none of the SDK, its exporter or otelhttp
// is linked (about 3.8 MB of a function's bootstrap).

package telemetry

import (
	"context"
	"net/http"

	"github.com/aws/smithy-go/middleware"
)

// Built: this build records no spans, whatever is configured.
const Built = false

// Tracing is off.
type Tracing struct{}

// New is off: the build has no exporter (the caller warns when an
// endpoint is configured).
func New(context.Context, string, string) (*Tracing, error) { return nil, nil }

func (t *Tracing) On() bool                                          { return false }
func (t *Tracing) Shutdown(context.Context) error                    { return nil }
func (t *Tracing) Lambda(_ string, h Handler) Handler                { return h }
func (t *Tracing) HTTPHandler(_ string, h http.Handler) http.Handler { return h }
func (t *Tracing) Transport(_ string, rt http.RoundTripper) http.RoundTripper {
	return rt
}
func (t *Tracing) AWSCalls(*middleware.Stack) error { return nil }
