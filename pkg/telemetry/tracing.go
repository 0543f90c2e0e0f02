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
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/contrib/propagators/aws/xray"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
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

// Tracing is the process's tracer. The zero value and nil are off.
type Tracing struct {
	provider *sdktrace.TracerProvider
	tracer   trace.Tracer
}

// New exports to endpoint (see Endpoint; "" is off). service names the
// process unless OTEL_SERVICE_NAME or OTEL_RESOURCE_ATTRIBUTES say
// otherwise; the exporter's other OTEL_EXPORTER_OTLP_* variables (headers,
// timeout) apply as usual. It makes no network call.
func New(ctx context.Context, endpoint, service string) (*Tracing, error) {
	if endpoint == "" {
		return nil, nil
	}
	exp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(endpoint))
	if err != nil {
		return nil, fmt.Errorf("OTLP trace exporter for %s: %w", endpoint, err)
	}
	res, err := resource.New(ctx,
		resource.WithAttributes(attribute.String("service.name", service), attribute.String("cloud.provider", "aws")),
		resource.WithFromEnv())
	if err != nil {
		return nil, fmt.Errorf("trace resource: %w", err)
	}
	p := sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(exp),
		sdktrace.WithResource(res),
		// X-Ray keeps only trace ids that begin with their start time.
		sdktrace.WithIDGenerator(xray.NewIDGenerator()),
		// Lambda's trace header carries X-Ray's sampling decision; a
		// span without a parent (local runs) is always recorded.
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.AlwaysSample())),
	)
	return &Tracing{provider: p, tracer: p.Tracer("github.com/grid-kyc/kyc-link")}, nil
}

// On reports whether spans are recorded.
func (t *Tracing) On() bool { return t != nil && t.provider != nil }

// Shutdown exports what is left and stops the exporter (local runs, at exit).
func (t *Tracing) Shutdown(ctx context.Context) error {
	if !t.On() {
		return nil
	}
	return t.provider.Shutdown(ctx)
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

// Lambda makes each invocation of h a span named name, child of the
// invocation's X-Ray segment, and exports the invocation's spans before it
// returns: Lambda freezes the process as soon as it has the answer, so a
// span left in a buffer would be sent minutes later or never.
func (t *Tracing) Lambda(name string, h Handler) Handler {
	if !t.On() {
		return h
	}
	return handlerFunc(func(ctx context.Context, payload []byte) ([]byte, error) {
		ctx, span := t.tracer.Start(lambdaParent(ctx), name, trace.WithSpanKind(trace.SpanKindServer))
		out, err := h.Invoke(ctx, payload)
		if err != nil {
			span.RecordError(err)
			span.SetStatus(codes.Error, err.Error())
		}
		span.End()
		t.flush(ctx)
		return out, err
	})
}

// flush exports the spans ended so far, within FlushTimeout and the
// invocation's own deadline.
func (t *Tracing) flush(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, FlushTimeout)
	defer cancel()
	_ = t.provider.ForceFlush(ctx) // a lost trace must not fail the invocation
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

// HTTPHandler makes each request to h a span (local runs; under Lambda the
// invocation's span covers the request). An incoming X-Amzn-Trace-Id or
// traceparent header is honoured.
func (t *Tracing) HTTPHandler(name string, h http.Handler) http.Handler {
	if !t.On() {
		return h
	}
	return otelhttp.NewHandler(h, name, otelhttp.WithTracerProvider(t.provider),
		otelhttp.WithPropagators(propagation.NewCompositeTextMapPropagator(xray.Propagator{}, propagation.TraceContext{})))
}

// Transport makes each request through rt a client span named
// "<peer> <METHOD>". No trace header is added: the peers (Sumsub, the
// platforms) are outside our trace, and our trace ids are not theirs to see.
func (t *Tracing) Transport(peer string, rt http.RoundTripper) http.RoundTripper {
	if !t.On() {
		return rt
	}
	return otelhttp.NewTransport(rt, otelhttp.WithTracerProvider(t.provider),
		otelhttp.WithPropagators(propagation.NewCompositeTextMapPropagator()),
		otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string { return peer + " " + r.Method }))
}

// AWSCalls is an AWS SDK option (for aws.Config.APIOptions) that makes each
// call a client span "<Service>.<Operation>", retries included, with the
// attributes X-Ray's exporter turns into an AWS subsegment. It sits after
// the SDK's own initialize steps, which name the service and operation.
func (t *Tracing) AWSCalls(stack *middleware.Stack) error {
	if !t.On() {
		return nil
	}
	return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("KycLinkTrace",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			service, op := awsmiddleware.GetServiceID(ctx), awsmiddleware.GetOperationName(ctx)
			ctx, span := t.tracer.Start(ctx, service+"."+op, trace.WithSpanKind(trace.SpanKindClient),
				trace.WithAttributes(
					attribute.String("rpc.system", "aws-api"),
					attribute.String("rpc.service", service),
					attribute.String("rpc.method", op),
					attribute.String("cloud.region", awsmiddleware.GetRegion(ctx)),
				))
			defer span.End()
			out, md, err := next.HandleInitialize(ctx, in)
			if id, ok := awsmiddleware.GetRequestIDMetadata(md); ok {
				span.SetAttributes(attribute.String("aws.request_id", id))
			}
			if resp, ok := awsmiddleware.GetRawResponse(md).(*smithyhttp.Response); ok {
				span.SetAttributes(attribute.Int("http.response.status_code", resp.StatusCode))
			}
			if err != nil {
				// The code only: an AWS error's message may quote the
				// request (SES names the recipient's address).
				span.RecordError(errors.New(errorCode(err)))
				span.SetStatus(codes.Error, errorCode(err))
			}
			return out, md, err
		}), middleware.After)
}

// errorCode is the AWS error code (ThrottlingException, …), or "error".
func errorCode(err error) string {
	var coded interface{ ErrorCode() string }
	if errors.As(err, &coded) {
		return coded.ErrorCode()
	}
	return "error"
}
