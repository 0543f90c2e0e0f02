package webhooks

import (
	"context"
	"crypto/ecdsa"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/grid-kyc/kyc-link/pkg/gridhook"
	"github.com/grid-kyc/kyc-link/pkg/kyc"
)

type staticKey struct{ k *ecdsa.PrivateKey }

func (s staticKey) Get(context.Context) (*ecdsa.PrivateKey, error) { return s.k, nil }

func testKey(t *testing.T) *ecdsa.PrivateKey {
	secret, _, err := gridhook.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	k, err := gridhook.ParseSigningSecret(secret)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestCheckEndpoint(t *testing.T) {
	for _, tc := range []struct {
		url      string
		loopback bool
		ok       bool
	}{
		{"https://api.example.com/webhooks", false, true},
		{"https://203.0.114.7/hook", false, true},
		{"http://api.example.com/webhooks", false, false},
		{"https://localhost/hook", false, false},
		{"https://127.0.0.1/hook", false, false},
		{"https://10.0.0.1/hook", false, false},
		{"https://169.254.169.254/latest", false, false},
		{"https://[::1]/hook", false, false},
		{"https://[64:ff9b::a9fe:a9fe]/hook", false, false},
		{"https://user:pw@api.example.com/", false, false},
		{"ftp://api.example.com/", false, false},
		{"not a url", false, false},
		{"http://127.0.0.1:8080/hook", true, true},
		{"https://localhost:8443/hook", true, true},
		{"http://10.0.0.1/hook", true, false},
		{"https://10.0.0.1/hook", true, false},
	} {
		err := CheckEndpoint(tc.url, tc.loopback)
		if (err == nil) != tc.ok {
			t.Errorf("CheckEndpoint(%q, loopback %v) = %v; want ok %v", tc.url, tc.loopback, err, tc.ok)
		}
		if err != nil && strings.HasPrefix(err.Error(), "webhooks:") {
			t.Errorf("the reason %q is not for the platform", err)
		}
	}
}

func TestSendTestWebhook(t *testing.T) {
	key := testKey(t)
	var got struct {
		body []byte
		sig  string
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.body, _ = io.ReadAll(r.Body)
		got.sig = r.Header.Get(gridhook.SignatureHeader)
		w.WriteHeader(http.StatusAccepted)
		io.WriteString(w, strings.Repeat("x", MaxTestResponseBody+100))
	}))
	defer srv.Close()
	s := &TestSender{Key: staticKey{key}, Client: NewClient(5*time.Second, true), Now: func() time.Time { return time.Unix(1_800_000_000, 0) }}
	d, err := s.SendTestWebhook(context.Background(), "p1", srv.URL+"/hook")
	if err != nil || d.Status != http.StatusAccepted || d.URL != srv.URL+"/hook" || len(d.Body) != MaxTestResponseBody {
		t.Fatalf("SendTestWebhook = %+v (body %d bytes), %v", d.Status, len(d.Body), err)
	}
	if err := gridhook.Verify(&key.PublicKey, got.sig, got.body); err != nil {
		t.Errorf("the test webhook's signature does not verify: %v", err)
	}
	var env map[string]any
	if err := json.Unmarshal(got.body, &env); err != nil || env["type"] != "TEST" || !strings.HasPrefix(env["id"].(string), "Webhook:") ||
		env["timestamp"] != "2027-01-15T08:00:00.000Z" || len(env["data"].(map[string]any)) != 0 {
		t.Errorf("test webhook body %s", got.body)
	}
}

func TestSendTestWebhookFailures(t *testing.T) {
	key := staticKey{testKey(t)}
	closed, _ := net.Listen("tcp", "127.0.0.1:0")
	refused := "http://" + closed.Addr().String() + "/hook"
	closed.Close()
	release := make(chan struct{})
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer hang.Close()
	defer close(release)
	for _, tc := range []struct {
		name, url string
		loopback  bool
		reason    string
		within    time.Duration // the sender's deadline
	}{
		{"connection refused", refused, true, "connection refused", time.Minute},
		{"not public", hang.URL, false, "not public", time.Minute},
		{"hangs", hang.URL, true, "in time", 200 * time.Millisecond}, // it never answers
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &TestSender{Key: key, Client: NewClient(time.Minute, tc.loopback), Now: time.Now}
			ctx, cancel := context.WithTimeout(context.Background(), tc.within)
			defer cancel()
			_, err := s.SendTestWebhook(ctx, "p1", tc.url)
			var f *kyc.DeliveryFailure
			if !errors.As(err, &f) || !strings.Contains(f.Reason, tc.reason) {
				t.Errorf("SendTestWebhook = %v; want a DeliveryFailure saying %q", err, tc.reason)
			}
		})
	}
}
