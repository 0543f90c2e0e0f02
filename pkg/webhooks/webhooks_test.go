package webhooks_test

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/grid-kyc/kyc-link/pkg/gridhook"
	"github.com/grid-kyc/kyc-link/pkg/kyc"
	"github.com/grid-kyc/kyc-link/pkg/webhooks"
)

func TestBackoff(t *testing.T) {
	p := webhooks.Policy{Base: time.Minute, Max: 30 * time.Minute, RetryFor: 168 * time.Hour}
	want := []time.Duration{time.Minute, 2 * time.Minute, 4 * time.Minute, 8 * time.Minute, 16 * time.Minute, 30 * time.Minute, 30 * time.Minute}
	for i, w := range want {
		if got := p.Backoff(i + 1); got != w {
			t.Errorf("Backoff(%d) = %s; want %s", i+1, got, w)
		}
	}
	if got := p.Backoff(1000); got != 30*time.Minute {
		t.Errorf("Backoff(1000) = %s; want the 30m cap", got)
	}
	created := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if p.Expired(created, created.Add(167*time.Hour)) || !p.Expired(created, created.Add(168*time.Hour)) {
		t.Error("Expired must turn true exactly at RetryFor")
	}
}

func TestCheckURL(t *testing.T) {
	for _, tc := range []struct {
		url      string
		loopback bool
		ok       bool
	}{
		{"https://hooks.example.com/grid", false, true},
		{"http://hooks.example.com/grid", false, false},
		{"http://127.0.0.1:8080/x", false, false},
		{"http://127.0.0.1:8080/x", true, true},
		{"http://localhost/x", true, true},
		{"http://10.0.0.1/x", true, false},
		{"ftp://hooks.example.com/", false, false},
		{"https://user:pw@hooks.example.com/", false, false},
		{"https:///nohost", false, false},
		{"::", false, false},
	} {
		if _, err := webhooks.CheckURL(tc.url, tc.loopback); (err == nil) != tc.ok {
			t.Errorf("CheckURL(%q, loopback=%v) = %v; want ok=%v", tc.url, tc.loopback, err, tc.ok)
		}
	}
}

// TestClientRefusesNonPublicAddresses: the delivery client will not connect
// to loopback (unless allowed), private, link-local (the metadata service),
// CGNAT or unspecified addresses, whatever name led there.
func TestClientRefusesNonPublicAddresses(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	port := srv.URL[strings.LastIndex(srv.URL, ":"):]
	strict := webhooks.NewClient(2*time.Second, false)
	for _, u := range []string{
		srv.URL, "http://localhost" + port, "http://[::1]" + port, "http://10.1.2.3:80", "http://192.168.1.1:80", "http://172.16.0.1:80",
		"http://169.254.169.254/latest/meta-data/", "http://100.64.0.1:80", "http://0.0.0.0" + port, "http://[fd00:ec2::254]/",
	} {
		_, err := strict.Get(u)
		if !errors.Is(err, webhooks.ErrForbiddenAddress) {
			t.Errorf("GET %s = %v; want ErrForbiddenAddress", u, err)
		}
	}
	if _, err := webhooks.NewClient(2*time.Second, true).Get(srv.URL); err != nil {
		t.Errorf("with loopback allowed: %v", err)
	}
}

type keyOf struct{ k *ecdsa.PrivateKey }

func (k keyOf) Get(context.Context) (*ecdsa.PrivateKey, error) { return k.k, nil }

// TestSlowPlatformBlocksNoOther: one platform that never answers holds
// only its own delivery, for at most the attempt timeout.
func TestSlowPlatformBlocksNoOther(t *testing.T) {
	secret, _, _ := gridhook.NewKey()
	key, _ := gridhook.ParseSigningSecret(secret)
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body) // lets the server notice the client leaving
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer slow.Close()
	defer close(release) // runs first
	var fastHits atomic.Int32
	fast := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fastHits.Add(1) }))
	defer fast.Close()
	w := &webhooks.Worker{
		Deliverer: &webhooks.Deliverer{Platforms: webhooks.PlatformsMemory{"slow": slow.URL, "fast": fast.URL}, Key: keyOf{key},
			Client: webhooks.NewClient(time.Minute, true), AllowLoopback: true},
		Policy: webhooks.Policy{Base: time.Second, Max: time.Minute, RetryFor: time.Hour}, Queue: nil,
		DeadLetters: &webhooks.DeadLettersMemory{}, AttemptTimeout: 300 * time.Millisecond, Concurrency: 10,
		Now: time.Now, Logger: slog.New(slog.NewJSONHandler(io.Discard, nil)),
	}
	msg := func(id, platform string) events.SQSMessage {
		body, _ := webhooks.EncodeMessage(kyc.Notice{ID: id, PlatformID: platform, Type: "CUSTOMER.KYC_PENDING", CreatedAt: time.Now(), Body: []byte(`{}`)})
		return events.SQSMessage{MessageId: id, Body: string(body), Attributes: map[string]string{"ApproximateReceiveCount": "1"}}
	}
	start := time.Now()
	resp, err := w.HandleSQS(context.Background(), events.SQSEvent{Records: []events.SQSMessage{
		msg("Webhook:slow", "slow"), msg("Webhook:f1", "fast"), msg("Webhook:f2", "fast")}})
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("the batch took %s; the slow platform must cost at most its attempt timeout", took)
	}
	if fastHits.Load() != 2 {
		t.Fatalf("fast platform got %d webhooks; want 2", fastHits.Load())
	}
	if len(resp.BatchItemFailures) != 1 || resp.BatchItemFailures[0].ItemIdentifier != "Webhook:slow" {
		t.Fatalf("batch failures = %+v; want only the slow platform's", resp.BatchItemFailures)
	}
}

// TestDroppedWhenNoURL: a platform without a webhook URL has nothing to
// deliver to; the notice is done, not retried for a week.
func TestDroppedWhenNoURL(t *testing.T) {
	d := &webhooks.Deliverer{Platforms: webhooks.PlatformsMemory{}}
	if got, err := d.Deliver(context.Background(), kyc.Notice{ID: "Webhook:x", PlatformID: "none"}); got != webhooks.Dropped || err != nil {
		t.Fatalf("Deliver = %s, %v; want dropped", got, err)
	}
}
