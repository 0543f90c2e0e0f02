//go:build !notrace

// tracing_otel.go is the OpenTelemetry SDK and its OTLP/HTTP exporter:
// every build but a Lambda build made without TRACING=1 (Makefile), which
// takes tracing_none.go instead and links none of it.

package telemetry

import (
	"context"
	"errors"
	"fmt"
	"net/http"

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

// Built: this build records spans when an endpoint is configured.
const Built = true

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
