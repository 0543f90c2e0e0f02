package app_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"runtime"
	"runtime/metrics"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/grid-kyc/kyc-link/internal/contract"
	"github.com/grid-kyc/kyc-link/internal/logbuf"
	"github.com/grid-kyc/kyc-link/pkg/app"
	"github.com/grid-kyc/kyc-link/pkg/httpapi"
)

// lambdaInvokeLimit is what a synchronous Lambda invocation carries.
const lambdaInvokeLimit = 6 << 20

// uploadEvent is POST /documents as API Gateway (REST) hands it to Lambda:
// a PNG of size bytes for the seed's first customer, the body
// base64-encoded, with 10 KiB of headers (REST API's limit) beside it.
func uploadEvent(t testing.TB, size int) []byte {
	t.Helper()
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	w.WriteField("documentHolder", "Customer:019542f5-b3e7-1d02-0000-000000000001")
	w.WriteField("documentType", "PASSPORT")
	w.WriteField("country", "US")
	fw, _ := w.CreateFormFile("file", "passport.png")
	file := make([]byte, size)
	copy(file, "\x89PNG\r\n\x1a\n")
	fw.Write(file)
	w.Close()
	headers := map[string]string{
		"Host":          "abc123.execute-api.us-east-1.amazonaws.com",
		"Authorization": "Basic ZGVtby10b2tlbjpkZW1vLXNlY3JldC1ub3QtZm9yLXByb2R1Y3Rpb24=",
		"Content-Type":  w.FormDataContentType(),
		"X-Padding":     strings.Repeat("p", 10<<10-200),
	}
	multi := map[string][]string{}
	for k, v := range headers {
		multi[k] = []string{v}
	}
	ev := events.APIGatewayProxyRequest{Resource: "/documents", Path: "/documents", HTTPMethod: "POST",
		Headers: headers, MultiValueHeaders: multi, IsBase64Encoded: true, Body: base64.StdEncoding.EncodeToString(b.Bytes()),
		RequestContext: events.APIGatewayProxyRequestContext{ResourcePath: "/documents", HTTPMethod: "POST", Path: "/prod/documents",
			Stage: "prod", RequestID: "inline-limit", DomainName: "abc123.execute-api.us-east-1.amazonaws.com", APIID: "abc123"}}
	payload, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	return payload
}

// TestInlineLimitFitsALambdaEvent: the largest inline upload, with 10 KiB
// of headers, is an event Lambda takes (under 6 MiB) and the function
// stores it; one byte more is a 400 that names the limit and the direct
// upload. This is the measurement behind httpapi.InlineFileLimit.
func TestInlineLimitFitsALambdaEvent(t *testing.T) {
	payload := uploadEvent(t, httpapi.InlineFileLimit)
	if len(payload) > lambdaInvokeLimit {
		t.Fatalf("the event of the largest inline upload is %d bytes; Lambda takes %d", len(payload), lambdaInvokeLimit)
	}
	t.Logf("largest inline upload: event %d bytes, %d under Lambda's limit", len(payload), lambdaInvokeLimit-len(payload))
	fn := lambdaEntry(t, nil, app.PlatformFunction).Lambda()
	out, err := fn.Invoke(context.Background(), payload)
	if err != nil {
		t.Fatal(err)
	}
	if resp := out.(events.APIGatewayProxyResponse); resp.StatusCode != 201 {
		t.Fatalf("upload at the limit = %d %s", resp.StatusCode, resp.Body)
	}
	out, err = fn.Invoke(context.Background(), uploadEvent(t, httpapi.InlineFileLimit+1))
	if err != nil {
		t.Fatal(err)
	}
	resp := out.(events.APIGatewayProxyResponse)
	if resp.StatusCode != 400 || !strings.Contains(resp.Body, `"field":"file"`) || !strings.Contains(resp.Body, "POST /document-uploads") ||
		!strings.Contains(resp.Body, "4194304") {
		t.Fatalf("one byte over the limit = %d %s", resp.StatusCode, resp.Body)
	}
}

// BenchmarkInlineUploadPeakHeap: the heap an inline upload at the limit
// adds at its peak while it runs through the Lambda adapter (the event
// decoded, the body, the parts, the file stored), as a multiple of the
// file's size (goal: at most 3). A sampler reads the heap's live objects
// (runtime/metrics, no stop-the-world) every 20 µs during the upload; the
// event itself, which the Lambda runtime holds anyway, is there before.
// Run with
//
//	go test -run '^$' -bench BenchmarkInlineUploadPeakHeap -benchtime 5x ./pkg/app
func BenchmarkInlineUploadPeakHeap(b *testing.B) {
	fn := lambdaEntry(b, nil, app.PlatformFunction).Lambda()
	payload := uploadEvent(b, httpapi.InlineFileLimit)
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	heap := func() uint64 { metrics.Read(sample); return sample[0].Value.Uint64() }
	var worst uint64
	for b.Loop() {
		runtime.GC()
		base := heap()
		stop, peak := make(chan struct{}), make(chan uint64)
		go func() {
			var top uint64
			for {
				select {
				case <-stop:
					peak <- top
					return
				default:
					top = max(top, heap())
					time.Sleep(20 * time.Microsecond)
				}
			}
		}()
		out, err := fn.Invoke(context.Background(), payload)
		close(stop)
		top := <-peak
		if err != nil || out.(events.APIGatewayProxyResponse).StatusCode != 201 {
			b.Fatalf("upload: %v %v", out, err)
		}
		if top > base {
			worst = max(worst, top-base)
		}
	}
	b.ReportMetric(float64(worst)/float64(httpapi.InlineFileLimit), "peak/file")
}

// TestUploadLogsNoHolderThatIsNoID: what a platform sends as
// documentHolder reaches the log line only once it is a customer id (a
// holder field holding a name and a number was logged as customer_id).
func TestUploadLogsNoHolderThatIsNoID(t *testing.T) {
	cfg, err := app.ConfigFromEnv(func(string) string { return "" }, false)
	if err != nil {
		t.Fatal(err)
	}
	logs := &logbuf.Buffer{}
	svc, err := app.Build(context.Background(), cfg, logs.Logger(), app.PlatformFunction)
	if err != nil {
		t.Fatal(err)
	}
	const personal = "SSN 123-45-6789 Jane Roe"
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	w.WriteField("documentHolder", personal)
	w.WriteField("documentType", "PASSPORT")
	w.WriteField("country", "US")
	fw, _ := w.CreateFormFile("file", "p.png")
	fw.Write([]byte("\x89PNG\r\n\x1a\nx"))
	w.Close()
	for _, r := range []*http.Request{
		httptest.NewRequest("POST", "/documents", bytes.NewReader(b.Bytes())),
		httptest.NewRequest("POST", "/document-uploads", strings.NewReader(`{"documentHolder":"`+personal+`"}`)),
	} {
		r.SetBasicAuth("demo-token", "demo-secret-not-for-production")
		if r.URL.Path == "/documents" {
			r.Header.Set("Content-Type", w.FormDataContentType())
		} else {
			r.Header.Set("Content-Type", "application/json")
		}
		rec := httptest.NewRecorder()
		svc.Handler().ServeHTTP(rec, r)
		if rec.Code != 400 {
			t.Errorf("%s = %d %s; want 400", r.URL.Path, rec.Code, rec.Body)
		}
	}
	if l := logs.String(); strings.Contains(l, "123-45-6789") || strings.Contains(l, "Jane Roe") {
		t.Errorf("the holder field reached the log:\n%s", l)
	}
}

// TestUploadJudgesTheFileByItsContent: a PNG sent as application/pdf named
// scan.pdf is stored (a PNG); a text file sent as image/png named p.png is
// refused, naming the file.
func TestUploadJudgesTheFileByItsContent(t *testing.T) {
	fn := lambdaEntry(t, nil, app.PlatformFunction)
	for _, tc := range []struct {
		declared, name string
		content        []byte
		status         int
	}{
		{"application/pdf", "scan.pdf", []byte("\x89PNG\r\n\x1a\nimage"), 201},
		{"image/png", "p.png", []byte("hello, text"), 400},
	} {
		var b bytes.Buffer
		w := multipart.NewWriter(&b)
		w.WriteField("documentHolder", "Customer:019542f5-b3e7-1d02-0000-000000000001")
		w.WriteField("documentType", "PASSPORT")
		w.WriteField("country", "US")
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", `form-data; name="file"; filename="`+tc.name+`"`)
		h.Set("Content-Type", tc.declared)
		pw, _ := w.CreatePart(h)
		pw.Write(tc.content)
		w.Close()
		r := httptest.NewRequest("POST", "/documents", &b)
		r.SetBasicAuth("demo-token", "demo-secret-not-for-production")
		r.Header.Set("Content-Type", w.FormDataContentType())
		rec := httptest.NewRecorder()
		fn.Handler().ServeHTTP(rec, r)
		if err := contract.CheckOperation("POST", contract.DocumentsPath, rec.Code, rec.Header(), rec.Body.Bytes()); err != nil {
			t.Error(err)
		}
		if rec.Code != tc.status || tc.status == 400 && !strings.Contains(rec.Body.String(), `"field":"file"`) {
			t.Errorf("%s declared %s = %d %s; want %d", tc.name, tc.declared, rec.Code, rec.Body, tc.status)
		}
	}
}
