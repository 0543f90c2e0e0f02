// tracing.go records OpenTelemetry spans: one for each Lambda
// invocation or local request, one for each AWS SDK call and one for each
// outbound HTTP call (Sumsub, platform webhooks). Trace ids are in X-Ray's
// format and an invocation's span is a child of Lambda's own segment, so a
// collector that exports to X-Ray (the OpenTelemetry collector's awsxray
// exporter, or X-Ray's OTLP endpoint) puts them into the trace API Gateway
// and Lambda start.
//
// Spans are exported by OTLP/HTTP only when an endpoint is configured;
// otherwise every method here is a no-op and nothing is recorded.
package telemetry

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"strings"
	"time"

	"go.opentelemetry.io/contrib/propagators/aws/xray"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// FlushTimeout bounds the export at the end of an invocation. With the
// collector on localhost (a Lambda layer) an export takes about a
// millisecond; a collector that does not answer costs at most this, and
// the spans are dropped rather than the answer delayed further.
const FlushTimeout = 250 * time.Millisecond

// Endpoint is the OTLP/HTTP traces URL the standard variables configure:
// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT as given, or OTEL_EXPORTER_OTLP_ENDPOINT
// with /v1/traces appended. It is "" (tracing off) when neither is set or
// OTEL_SDK_DISABLED is true.
func Endpoint(getenv func(string) string) string {
	if strings.EqualFold(getenv("OTEL_SDK_DISABLED"), "true") {
		return ""
	}
	if u := getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"); u != "" {
		return u
	}
	if u := getenv("OTEL_EXPORTER_OTLP_ENDPOINT"); u != "" {
		return strings.TrimRight(u, "/") + "/v1/traces"
	}
	return ""
}

// Handler is a Lambda handler on raw payloads (aws-lambda-go's
// lambda.Handler, which lambda.Start accepts as it is).
type Handler interface {
	Invoke(ctx context.Context, payload []byte) ([]byte, error)
}

type handlerFunc func(context.Context, []byte) ([]byte, error)

func (f handlerFunc) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	return f(ctx, payload)
}

// traceHeaderKey is the context key aws-lambda-go stores the invocation's
// X-Ray trace header under (a plain string, its own choice).
const traceHeaderKey = "x-amzn-trace-id"

// lambdaParent is ctx with the invocation's X-Ray segment as the remote
// parent: the trace header aws-lambda-go puts in the context, or, where
// only the environment has it, _X_AMZN_TRACE_ID.
func lambdaParent(ctx context.Context) context.Context {
	header, _ := ctx.Value(traceHeaderKey).(string)
	if header == "" {
		header = os.Getenv("_X_AMZN_TRACE_ID")
	}
	if header == "" {
		return ctx
	}
	return withXRayHeader(ctx, header)
}

// withXRayHeader is ctx with the trace an X-Ray header names as remote parent.
func withXRayHeader(ctx context.Context, header string) context.Context {
	return xray.Propagator{}.Extract(ctx, propagation.MapCarrier{"X-Amzn-Trace-Id": header})
}

// Detach is a context for work a request starts but does not own (a load
// shared by every waiting request): none of ctx's deadline, cancellation or
// values but its span, so the work's spans stay in the trace that caused it.
func Detach(ctx context.Context) context.Context {
	return trace.ContextWithSpanContext(context.Background(), trace.SpanContextFromContext(ctx))
}

// LogHandler adds the X-Ray trace id (trace_id "1-5759e988-bd86…") to each
// record logged with a context in a sampled trace, so a log line leads to
// its trace: our span's trace when tracing is on, else the trace Lambda
// itself records (its trace header), which exists whenever the function
// has X-Ray tracing on.
func LogHandler(h slog.Handler) slog.Handler { return logHandler{h} }

type logHandler struct{ slog.Handler }

func (l logHandler) Handle(ctx context.Context, r slog.Record) error {
	sc := trace.SpanContextFromContext(ctx)
	if header, _ := ctx.Value(traceHeaderKey).(string); !sc.IsValid() && header != "" {
		sc = trace.SpanContextFromContext(withXRayHeader(ctx, header))
	}
	if sc.IsValid() && sc.IsSampled() {
		r.AddAttrs(slog.String("trace_id", xrayTraceID(sc.TraceID())))
	}
	return l.Handler.Handle(ctx, r)
}

func (l logHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return logHandler{l.Handler.WithAttrs(attrs)}
}

func (l logHandler) WithGroup(name string) slog.Handler { return logHandler{l.Handler.WithGroup(name)} }

// xrayTraceID is id as X-Ray writes it: 1-<8 hex: time>-<24 hex>.
func xrayTraceID(id trace.TraceID) string {
	h := id.String()
	return "1-" + h[:8] + "-" + h[8:]
}

// errorCode is the AWS error code (ThrottlingException, …), or "error".
func errorCode(err error) string {
	var coded interface{ ErrorCode() string }
	if errors.As(err, &coded) {
		return coded.ErrorCode()
	}
	return "error"
}
