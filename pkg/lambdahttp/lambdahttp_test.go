package lambdahttp_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/google/go-cmp/cmp"

	"github.com/grid-kyc/kyc-link/pkg/httpapi"
	"github.com/grid-kyc/kyc-link/pkg/lambdahttp"
)

// echo answers with what the handler saw.
var echo = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	body := make([]byte, 100)
	n, _ := r.Body.Read(body)
	dl, _ := r.Context().Deadline()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(201)
	json.NewEncoder(w).Encode(map[string]any{
		"method": r.Method, "path": r.URL.EscapedPath(), "auth": r.Header.Get("Authorization"),
		"key": r.Header.Get("Idempotency-Key"), "body": string(body[:n]), "rid": httpapi.RequestID(r.Context()),
		"deadline": dl.UnixMilli(),
	})
})

func adapter() *lambdahttp.Adapter {
	return &lambdahttp.Adapter{Handler: echo, Reserve: 500 * time.Millisecond,
		BadEvent: func(w http.ResponseWriter, r *http.Request, err error) {
			w.WriteHeader(400)
			fmt.Fprintf(w, `{"method":%q,"err":%q}`, r.Method, err)
		}}
}

func invoke(t *testing.T, ctx context.Context, ev any) (int, map[string]any) {
	t.Helper()
	payload, _ := json.Marshal(ev)
	out, err := adapter().Invoke(ctx, payload)
	if err != nil {
		t.Fatal(err)
	}
	var status int
	var body string
	switch r := out.(type) {
	case events.APIGatewayProxyResponse:
		status, body = r.StatusCode, r.Body
	case events.APIGatewayV2HTTPResponse:
		status, body = r.StatusCode, r.Body
	default:
		t.Fatalf("response type %T", out)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatalf("body %q: %v", body, err)
	}
	return status, m
}

func TestV1(t *testing.T) {
	ev := events.APIGatewayProxyRequest{HTTPMethod: "POST", Path: "/customers/c%3A1/kyc-link", Body: "eyJhIjoxfQ==", IsBase64Encoded: true,
		Headers:           map[string]string{"Authorization": "Basic x", "Idempotency-Key": "k"},
		MultiValueHeaders: map[string][]string{}, // present but empty: must not hide Headers
		RequestContext:    events.APIGatewayProxyRequestContext{RequestID: "rid-1"}}
	status, m := invoke(t, context.Background(), ev)
	want := map[string]any{"method": "POST", "auth": "Basic x", "key": "k", "body": `{"a":1}`, "rid": "rid-1",
		"path": "/customers/c%3A1/kyc-link"}
	delete(m, "deadline")
	if diff := cmp.Diff(want, m); status != 201 || diff != "" {
		t.Fatalf("v1: status %d; what the handler saw (-want +got):\n%s", status, diff)
	}
}

func TestV2NamedStage(t *testing.T) {
	ev := events.APIGatewayV2HTTPRequest{Version: "2.0", RawPath: "/prod/customers/c1/kyc-link", Body: "{}",
		Headers: map[string]string{"authorization": "Basic y"},
		RequestContext: events.APIGatewayV2HTTPRequestContext{Stage: "prod", RequestID: "rid-2",
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "POST", Path: "/prod/customers/c1/kyc-link"}}}
	status, m := invoke(t, context.Background(), ev)
	want := map[string]any{"method": "POST", "auth": "Basic y", "key": "", "body": "{}", "rid": "rid-2",
		"path": "/customers/c1/kyc-link"}
	delete(m, "deadline")
	if diff := cmp.Diff(want, m); status != 201 || diff != "" {
		t.Fatalf("v2: status %d; what the handler saw (-want +got):\n%s", status, diff)
	}
}

func TestBadEvents(t *testing.T) {
	for name, ev := range map[string]any{
		"v1 bad base64": events.APIGatewayProxyRequest{HTTPMethod: "POST", Path: "/x", Body: "%%%", IsBase64Encoded: true},
		"v2 bad base64": events.APIGatewayV2HTTPRequest{Version: "2.0", RawPath: "/x", Body: "%%%", IsBase64Encoded: true,
			RequestContext: events.APIGatewayV2HTTPRequestContext{HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "POST"}}},
		"v1 bad path": events.APIGatewayProxyRequest{HTTPMethod: "POST", Path: "/a b%zz"},
	} {
		t.Run(name, func(t *testing.T) {
			status, m := invoke(t, context.Background(), ev)
			if status != 400 || m["method"] != "POST" {
				t.Errorf("status %d, body %v; want BadEvent's 400 for method POST", status, m)
			}
		})
	}
}

func TestReserveShortensDeadline(t *testing.T) {
	deadline := time.Now().Add(5 * time.Second)
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	_, m := invoke(t, ctx, events.APIGatewayProxyRequest{HTTPMethod: "POST", Path: "/"})
	if got := int64(m["deadline"].(float64)); got != deadline.Add(-500*time.Millisecond).UnixMilli() {
		t.Fatalf("handler deadline %d; want the invocation's minus the reserve", got)
	}
}

func TestNotHTTPEvent(t *testing.T) {
	for _, p := range []string{`{}`, `{"Records":[]}`, `[1]`, `nope`} {
		t.Run(p, func(t *testing.T) {
			if _, err := adapter().Invoke(context.Background(), json.RawMessage(p)); !errors.Is(err, lambdahttp.ErrNotHTTPEvent) {
				t.Errorf("Invoke(%s) = %v; want ErrNotHTTPEvent", p, err)
			}
		})
	}
}

// captureOutput runs f and returns what was written meanwhile to stdout
// and through the standard log package, where the proxy library writes.
func captureOutput(t *testing.T, f func()) string {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout := os.Stdout
	os.Stdout = w
	var logged bytes.Buffer
	log.SetOutput(&logged)
	defer func() {
		os.Stdout = stdout
		log.SetOutput(os.Stderr)
	}()
	f()
	w.Close()
	printed, _ := io.ReadAll(r)
	return string(printed) + logged.String()
}

// TestBadEventsWriteNothingOfTheirOwn: events the proxy library cannot
// convert (it would print their raw method and path, so a newline in a
// path forges log lines) are answered by BadEvent, and nothing reaches
// stdout or the log but what our handler logs.
func TestBadEventsWriteNothingOfTheirOwn(t *testing.T) {
	forged := "/customers/a\n{\"level\":\"ERROR\",\"msg\":\"forged\"}/kyc-link"
	v2 := func(method, path, query string) events.APIGatewayV2HTTPRequest {
		return events.APIGatewayV2HTTPRequest{Version: "2.0", RawPath: path, RawQueryString: query,
			RequestContext: events.APIGatewayV2HTTPRequestContext{HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: method, Path: path}}}
	}
	for _, tc := range []struct {
		name string
		ev   any
	}{
		{"v1 newline in path", events.APIGatewayProxyRequest{HTTPMethod: "POST", Path: forged}},
		{"v1 bad method", events.APIGatewayProxyRequest{HTTPMethod: "PO ST\n{}", Path: "/customers/a/kyc-link"}},
		{"v1 bad domain", events.APIGatewayProxyRequest{HTTPMethod: "POST", Path: "/customers/a/kyc-link",
			RequestContext: events.APIGatewayProxyRequestContext{DomainName: "a b\n{}"}}},
		{"v2 newline in path", v2("POST", forged, "")},
		{"v2 newline in query", v2("POST", "/customers/a/kyc-link", "a=\n{\"forged\":1}")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var status int
			out := captureOutput(t, func() { status, _ = invoke(t, context.Background(), tc.ev) })
			if status != 400 {
				t.Errorf("status %d; want BadEvent's 400", status)
			}
			if out != "" {
				t.Errorf("the library wrote event data: %q", out)
			}
		})
	}
}

// TestBodiesAsThePayloadHasThem: a base64 body is decoded straight from
// the payload, or unquoted first when the payload escapes it ("\/"); a
// plain body with escapes is unquoted; a body that is no JSON string is
// BadEvent's 400, not an invocation error.
func TestBodiesAsThePayloadHasThem(t *testing.T) {
	for _, tc := range []struct {
		name, body string // the "body" value as it stands in the payload
		base64     bool
		status     int
		want       string
	}{
		{"base64", `"eyJhIjoxfQ=="`, true, 201, `{"a":1}`},
		{"base64 with an escaped slash", `"Pz8\/"`, true, 201, "???"},
		{"plain with escapes", `"{\"a\":\"\u00e9\"}"`, false, 201, `{"a":"é"}`},
		{"null", `null`, false, 201, ""},
		{"a number", `12`, false, 400, ""},
		{"base64 of a number", `12`, true, 400, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			payload := []byte(`{"httpMethod":"POST","path":"/customers/c1/kyc-link","isBase64Encoded":` + fmt.Sprint(tc.base64) +
				`,"requestContext":{"requestId":"r"},"body":` + tc.body + `}`)
			out, err := adapter().Invoke(context.Background(), payload)
			if err != nil {
				t.Fatal(err)
			}
			r := out.(events.APIGatewayProxyResponse)
			var m map[string]any
			json.Unmarshal([]byte(r.Body), &m)
			if r.StatusCode != tc.status || tc.status == 201 && m["body"] != tc.want {
				t.Errorf("status %d, the handler saw %v; want %d with body %q", r.StatusCode, m, tc.status, tc.want)
			}
		})
	}
}
