package app_test

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/grid-kyc/kyc-link/internal/contract"
	"github.com/grid-kyc/kyc-link/pkg/app"
	"github.com/grid-kyc/kyc-link/pkg/httpapi"
)

// serveLocal runs the local server (embedded data, sandbox provider) with a
// 1 s request timeout on a free port and returns its address.
func serveLocal(t *testing.T) string {
	env := map[string]string{"KYC_REQUEST_TIMEOUT": "1s"}
	cfg, err := app.ConfigFromEnv(func(k string) string { return env[k] }, false)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg.PublicURL = "http://" + ln.Addr().String()
	a, err := app.Build(context.Background(), cfg, slog.New(slog.NewJSONHandler(io.Discard, nil)), app.LinkFunction)
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Serve(ctx, ln) }()
	t.Cleanup(func() { stop(); <-done })
	return ln.Addr().String()
}

const demoAuth = "demo-token:demo-secret-not-for-production"

// rawExchange writes raw to a new connection and reads one response,
// giving up after wait.
func rawExchange(t *testing.T, addr, raw string, wait time.Duration) (*http.Response, []byte, time.Duration) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	conn.SetDeadline(start.Add(wait))
	if _, err := io.WriteString(conn, raw); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer within %s: %v", wait, err)
	}
	body, _ := io.ReadAll(resp.Body)
	return resp, body, time.Since(start)
}

func gridCode(t *testing.T, resp *http.Response, body []byte) (code, field string) {
	t.Helper()
	if err := contract.CheckResponse(resp.StatusCode, resp.Header, body); err != nil {
		t.Fatal(err)
	}
	if resp.Header.Get("X-Request-Id") == "" {
		t.Fatalf("no X-Request-Id: %v", resp.Header)
	}
	var e struct {
		Code    string `json:"code"`
		Details struct {
			Field string `json:"field"`
		} `json:"details"`
	}
	if err := json.Unmarshal(body, &e); err != nil {
		t.Fatalf("not the Grid error shape: %s", body)
	}
	return e.Code, e.Details.Field
}

// TestLocalServerDoesNotWaitForAStalledBody: a client that declares 100
// bytes and sends 1 gets its answer: at once when we need no body (401),
// by the request deadline when we do (400), never an open-ended wait.
func TestLocalServerDoesNotWaitForAStalledBody(t *testing.T) {
	addr := serveLocal(t)
	head := "POST /customers/Customer:019542f5-b3e7-1d02-0000-000000000001/kyc-link HTTP/1.1\r\nHost: x\r\n" +
		"Content-Type: application/json\r\nContent-Length: 100\r\n"
	for _, tc := range []struct {
		name, auth, code, field string
		status                  int
	}{
		{"unauthenticated", "", "UNAUTHORIZED", "", 401},
		{"authenticated", "Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte(demoAuth)) + "\r\n",
			"INVALID_INPUT", "body", 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body, _ := rawExchange(t, addr, head+tc.auth+"\r\n{", 4*time.Second)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d %s; want %d", resp.StatusCode, body, tc.status)
			}
			if code, field := gridCode(t, resp, body); code != tc.code || field != tc.field {
				t.Fatalf("code %s field %q; want %s %q", code, field, tc.code, tc.field)
			}
			if !resp.Close {
				t.Fatal("the connection must close: the rest of the body was never read")
			}
		})
	}
}

// TestLocalServerAnswersOversizedHeadersInGridShape: headers over our
// limit get our 400 (up to net/http's own, 1 MiB, past which net/http
// answers 431 in plain text; see docs/reliability.md).
func TestLocalServerAnswersOversizedHeadersInGridShape(t *testing.T) {
	addr := serveLocal(t)
	req := "POST /customers/c/kyc-link HTTP/1.1\r\nHost: x\r\nX-Padding: " + strings.Repeat("a", 100<<10) + "\r\nContent-Length: 0\r\n\r\n"
	resp, body, _ := rawExchange(t, addr, req, 4*time.Second)
	if code, field := gridCode(t, resp, body); resp.StatusCode != 400 || code != "INVALID_INPUT" || field != "headers" {
		t.Fatalf("100 KiB of headers = %d %s %q; want 400 INVALID_INPUT headers", resp.StatusCode, code, field)
	}
}

// TestLocalServerKeepsConnectionsForUse: a request answered in full keeps
// the connection for the next one (Connection: close only when a body was
// left unread).
func TestLocalServerKeepsConnectionsForUse(t *testing.T) {
	addr := serveLocal(t)
	resp, body, _ := rawExchange(t, addr, "POST /customers/Customer:019542f5-b3e7-1d02-0000-000000000001/kyc-link HTTP/1.1\r\nHost: x\r\n"+
		"Authorization: Basic "+base64.StdEncoding.EncodeToString([]byte(demoAuth))+"\r\nContent-Length: 2\r\n\r\n{}", 4*time.Second)
	if resp.StatusCode != 201 || resp.Close {
		t.Fatalf("good request = %d close=%v %s; want 201 on a kept connection", resp.StatusCode, resp.Close, body)
	}
}

// TestLocalServerAnswersUnderGridBasePath: a client configured with Grid's
// base URL (…/grid/2025-10-13) reaches every route, as at the root.
func TestLocalServerAnswersUnderGridBasePath(t *testing.T) {
	addr := serveLocal(t)
	for _, prefix := range []string{"", httpapi.GridBasePath} {
		req := "POST " + prefix + "/customers/Customer%3A019542f5-b3e7-1d02-0000-000000000001/kyc-link HTTP/1.1\r\nHost: x\r\n" +
			"Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte(demoAuth)) + "\r\nContent-Length: 2\r\n\r\n{}"
		if resp, body, _ := rawExchange(t, addr, req, 4*time.Second); resp.StatusCode != 201 {
			t.Errorf("under %q: %d %s; want 201", prefix, resp.StatusCode, body)
		}
	}
	for _, path := range []string{httpapi.GridBasePath + "x/customers/c/kyc-link", "/grid/2025-01-01/customers/c/kyc-link"} {
		resp, body, _ := rawExchange(t, addr, "POST "+path+" HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", 4*time.Second)
		if code, _ := gridCode(t, resp, body); resp.StatusCode != 404 || code != "NOT_FOUND" {
			t.Errorf("%s = %d %s; want 404 NOT_FOUND", path, resp.StatusCode, code)
		}
	}
}
