// Package otlpfake is an OTLP/HTTP trace collector for tests: it decodes
// each export as a real collector does (protobuf on POST /v1/traces) and
// keeps the spans.
package otlpfake

import (
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"

	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

// Span is an exported span, ids in hex.
type Span struct {
	Name         string
	Kind         tracepb.Span_SpanKind
	TraceID      string
	SpanID       string
	ParentSpanID string
	Attributes   map[string]string // string and int values, as text
	Error        bool
	Service      string // the resource's service.name
}

// Collector is a running fake collector.
type Collector struct {
	URL string // the base URL (OTEL_EXPORTER_OTLP_ENDPOINT)

	srv     *httptest.Server
	mu      sync.Mutex
	spans   []Span
	exports int
	hang    chan struct{} // non-nil: exports wait until Close
}

// New starts a collector; Close stops it.
func New() *Collector {
	c := &Collector{}
	c.srv = httptest.NewServer(http.HandlerFunc(c.serve))
	c.URL = c.srv.URL
	return c
}

// Hang makes every later export wait without answering until Close.
func (c *Collector) Hang() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.hang == nil {
		c.hang = make(chan struct{})
	}
}

// Close stops the collector.
func (c *Collector) Close() {
	c.mu.Lock()
	if c.hang != nil {
		close(c.hang)
		c.hang = nil
	}
	c.mu.Unlock()
	c.srv.Close()
}

// Spans returns the spans received so far.
func (c *Collector) Spans() []Span {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Span(nil), c.spans...)
}

// Exports is how many exports arrived.
func (c *Collector) Exports() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.exports
}

func (c *Collector) serve(w http.ResponseWriter, r *http.Request) {
	c.mu.Lock()
	hang := c.hang
	c.mu.Unlock()
	if hang != nil {
		select {
		case <-hang:
		case <-r.Context().Done():
		}
		return
	}
	if r.Method != http.MethodPost || r.URL.Path != "/v1/traces" || r.Header.Get("Content-Type") != "application/x-protobuf" {
		http.Error(w, "want POST /v1/traces application/x-protobuf", http.StatusBadRequest)
		return
	}
	body, err := io.ReadAll(r.Body)
	var req collectortrace.ExportTraceServiceRequest
	if err == nil {
		err = proto.Unmarshal(body, &req)
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var got []Span
	for _, rs := range req.ResourceSpans {
		service := ""
		for _, kv := range rs.GetResource().GetAttributes() {
			if kv.Key == "service.name" {
				service = kv.Value.GetStringValue()
			}
		}
		for _, ss := range rs.ScopeSpans {
			for _, s := range ss.Spans {
				attrs := map[string]string{}
				for _, kv := range s.Attributes {
					switch v := kv.Value.Value.(type) {
					case *commonpb.AnyValue_StringValue:
						attrs[kv.Key] = v.StringValue
					case *commonpb.AnyValue_IntValue:
						attrs[kv.Key] = strconv.FormatInt(v.IntValue, 10)
					default:
						attrs[kv.Key] = kv.Value.String()
					}
				}
				got = append(got, Span{Name: s.Name, Kind: s.Kind, TraceID: hex.EncodeToString(s.TraceId),
					SpanID: hex.EncodeToString(s.SpanId), ParentSpanID: hex.EncodeToString(s.ParentSpanId),
					Attributes: attrs, Error: s.GetStatus().GetCode() == tracepb.Status_STATUS_CODE_ERROR, Service: service})
			}
		}
	}
	c.mu.Lock()
	c.spans = append(c.spans, got...)
	c.exports++
	c.mu.Unlock()
	out, _ := proto.Marshal(&collectortrace.ExportTraceServiceResponse{})
	w.Header().Set("Content-Type", "application/x-protobuf")
	_, _ = w.Write(out)
}
