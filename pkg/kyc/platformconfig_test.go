package kyc_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/grid-kyc/kyc-link/pkg/kyc"
	"github.com/grid-kyc/kyc-link/pkg/memstore"
)

// fakeSender records test webhooks and answers as told.
type fakeSender struct {
	mu     sync.Mutex
	sent   []string // platform + " " + url
	answer kyc.TestDelivery
	err    error
	// block holds each send until the context ends.
	block bool
}

func (f *fakeSender) SendTestWebhook(ctx context.Context, platformID, url string) (kyc.TestDelivery, error) {
	f.mu.Lock()
	f.sent = append(f.sent, platformID+" "+url)
	f.mu.Unlock()
	if f.block {
		<-ctx.Done()
		return kyc.TestDelivery{}, &kyc.DeliveryFailure{Reason: "timed out", Err: ctx.Err()}
	}
	d := f.answer
	d.URL = url
	return d, f.err
}

func httpsOnly(u string) error {
	if !strings.HasPrefix(u, "https://") || strings.Contains(u, "127.0.0.1") {
		return errors.New("not https to a public host")
	}
	return nil
}

func newPlatforms() (*kyc.Platforms, *fakeSender, *memstore.Platforms) {
	f := &fakeSender{answer: kyc.TestDelivery{Status: 200, Body: "ok"}}
	store := memstore.NewPlatforms(map[string]string{"p-old": "https://old.example.com/hooks"})
	return &kyc.Platforms{Store: store, CheckEndpoint: httpsOnly, Sender: f, Now: func() time.Time { return now }}, f, store
}

func TestPlatformConfig(t *testing.T) {
	ctx := context.Background()
	p, sender, store := newPlatforms()
	if v, err := p.Get(ctx, "p1"); err != nil || !cmp.Equal(v, kyc.PlatformConfigView{ID: "PlatformConfig:p1"}) {
		t.Errorf("Get of a platform without config = %+v, %v", v, err)
	}
	in, err := kyc.ParsePlatformConfigInput([]byte(`{"webhookEndpoint":"https://api.example.com/webhooks"}`))
	if err != nil {
		t.Fatal(err)
	}
	up, err := p.Update(ctx, "p1", in)
	want := kyc.PlatformConfigView{ID: "PlatformConfig:p1", WebhookEndpoint: "https://api.example.com/webhooks",
		CreatedAt: "2026-11-26T09:00:00.123Z", UpdatedAt: "2026-11-26T09:00:00.123Z"}
	if err != nil || !up.Changed || !cmp.Equal(up.Config, want) || up.Test == nil || up.Test.Status != 200 {
		t.Fatalf("Update = %+v, %v", up, err)
	}
	if u, _ := store.WebhookURL(ctx, "p1"); u != "https://api.example.com/webhooks" {
		t.Errorf("delivery reads %q", u)
	}
	// The same endpoint again: nothing changes, no test webhook.
	if up, err := p.Update(ctx, "p1", in); err != nil || up.Changed || up.Test != nil {
		t.Errorf("same endpoint = %+v, %v", up, err)
	}
	if diff := cmp.Diff([]string{"p1 https://api.example.com/webhooks"}, sender.sent); diff != "" {
		t.Errorf("test webhooks (-want +got):\n%s", diff)
	}
	// A failing test webhook does not undo the change.
	sender.err = &kyc.DeliveryFailure{Reason: "connection refused", Err: errors.New("dial tcp: refused")}
	in2, _ := kyc.ParsePlatformConfigInput([]byte(`{"webhookEndpoint":"https://new.example.com/w"}`))
	if up, err := p.Update(ctx, "p1", in2); err != nil || !up.Changed || up.TestErr == nil || up.Config.WebhookEndpoint != "https://new.example.com/w" {
		t.Errorf("Update with a failing endpoint = %+v, %v", up, err)
	}
}

func TestPlatformConfigRefuses(t *testing.T) {
	p, sender, _ := newPlatforms()
	for body, field := range map[string]string{
		`{"webhookEndpoint":"http://api.example.com/w"}`:                              "webhookEndpoint",
		`{"webhookEndpoint":"https://127.0.0.1/w"}`:                                   "webhookEndpoint",
		`{"webhookEndpoint":""}`:                                                      "webhookEndpoint",
		`{"webhookEndpoint":"https://a.example.com/ x"}`:                              "webhookEndpoint",
		`{"webhookEndpoint":null}`:                                                    "webhookEndpoint",
		`{"webhookEndpoint":7}`:                                                       "webhookEndpoint",
		`{"umaDomain":"mycompany.com"}`:                                               "umaDomain",
		`{"supportedCurrencies":[]}`:                                                  "supportedCurrencies",
		`{"id":"PlatformConfig:x"}`:                                                   "id",
		`{"webhookUrl":"https://a.example.com"}`:                                      "webhookUrl",
		`{"webhookEndpoint":"https://` + strings.Repeat("a", 2050) + `.example.com"}`: "webhookEndpoint",
	} {
		in, err := kyc.ParsePlatformConfigInput([]byte(body))
		if err == nil {
			_, err = p.Update(context.Background(), "p1", in)
		}
		if e := kyc.AsError(err); e.Code != kyc.CodeInvalid || e.Details["field"] != field {
			t.Errorf("Update(%.80s) = %v; want INVALID_INPUT for %s", body, err, field)
		}
	}
	if len(sender.sent) != 0 {
		t.Errorf("refused updates sent test webhooks: %v", sender.sent)
	}
}

func TestSendTest(t *testing.T) {
	ctx := context.Background()
	p, sender, _ := newPlatforms()
	if _, err := p.SendTest(ctx, "p-none"); kyc.AsError(err).Code != kyc.CodeWebhookEndpointNotSet {
		t.Errorf("SendTest without endpoint = %v; want WEBHOOK_ENDPOINT_NOT_SET", err)
	}
	sender.answer = kyc.TestDelivery{Status: 500, Body: "boom"}
	d, err := p.SendTest(ctx, "p-old")
	if err != nil || !cmp.Equal(d, kyc.TestDelivery{URL: "https://old.example.com/hooks", Status: 500, Body: "boom"}) {
		t.Errorf("SendTest = %+v, %v; want the endpoint's own answer, whatever its status", d, err)
	}
	sender.err = &kyc.DeliveryFailure{Reason: "connection refused", Err: errors.New("dial tcp 203.0.113.9:443: refused")}
	_, err = p.SendTest(ctx, "p-old")
	if e := kyc.AsError(err); e.Code != kyc.CodeWebhookDeliveryError || !strings.Contains(e.Message, "connection refused") || strings.Contains(e.Message, "203.0.113.9") {
		t.Errorf("SendTest with no answer = %v; want WEBHOOK_DELIVERY_ERROR naming only the reason", err)
	}
	// Bounded in time.
	sender.err, sender.block = nil, true
	p.TestTimeout = 20 * time.Millisecond
	if _, err := p.SendTest(ctx, "p-old"); kyc.AsError(err).Code != kyc.CodeWebhookDeliveryError {
		t.Errorf("SendTest to a hanging endpoint = %v; want WEBHOOK_DELIVERY_ERROR", err)
	}
	// An endpoint kept from before the rule is not sent to.
	sender.block = false
	bad := memstore.NewPlatforms(map[string]string{"p": "http://10.0.0.1/hook"})
	p.Store = bad
	n := len(sender.sent)
	if _, err := p.SendTest(ctx, "p"); kyc.AsError(err).Code != kyc.CodeWebhookDeliveryError || len(sender.sent) != n {
		t.Errorf("SendTest to a kept non-public endpoint = %v, sent %d; want WEBHOOK_DELIVERY_ERROR, nothing sent", err, len(sender.sent)-n)
	}
}

// countingPlatforms counts the store calls.
type countingPlatforms struct {
	kyc.PlatformStore
	mu          sync.Mutex
	reads, sets int
}

func (c *countingPlatforms) PlatformConfig(ctx context.Context, platformID string) (kyc.PlatformConfig, error) {
	c.mu.Lock()
	c.reads++
	c.mu.Unlock()
	return c.PlatformStore.PlatformConfig(ctx, platformID)
}

func (c *countingPlatforms) SetWebhookEndpoint(ctx context.Context, platformID, endpoint string, at time.Time) (kyc.PlatformConfig, bool, error) {
	c.mu.Lock()
	c.sets++
	c.mu.Unlock()
	return c.PlatformStore.SetWebhookEndpoint(ctx, platformID, endpoint, at)
}

// TestPlatformConfigUpdateIsOneWrite: PATCH /config with an endpoint is
// the store's one conditional write (no read before it: one round trip
// before the test webhook), which alone says whether the endpoint changed,
// so concurrent PATCHes of one new endpoint change it once and send one
// test webhook. Without an endpoint it is one read.
func TestPlatformConfigUpdateIsOneWrite(t *testing.T) {
	ctx := context.Background()
	p, sender, store := newPlatforms()
	counted := &countingPlatforms{PlatformStore: store}
	p.Store = counted
	in, _ := kyc.ParsePlatformConfigInput([]byte(`{"webhookEndpoint":"https://api.example.com/webhooks"}`))
	var wg sync.WaitGroup
	var mu sync.Mutex
	changed := 0
	for range 10 {
		wg.Go(func() {
			up, err := p.Update(ctx, "p1", in)
			if err != nil || up.Config.WebhookEndpoint != "https://api.example.com/webhooks" {
				t.Errorf("Update = %+v, %v", up, err)
			}
			if up.Changed {
				mu.Lock()
				changed++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if changed != 1 || len(sender.sent) != 1 {
		t.Errorf("10 concurrent PATCHes of one endpoint: %d changed it, %d test webhooks; want 1 and 1", changed, len(sender.sent))
	}
	if counted.reads != 0 || counted.sets != 10 {
		t.Errorf("store calls: %d reads, %d writes; want 0 reads, one write each", counted.reads, counted.sets)
	}
	empty, _ := kyc.ParsePlatformConfigInput([]byte(`{}`))
	if up, err := p.Update(ctx, "p1", empty); err != nil || up.Changed || up.Config.WebhookEndpoint != "https://api.example.com/webhooks" {
		t.Errorf("Update without an endpoint = %+v, %v", up, err)
	}
	if counted.reads != 1 || counted.sets != 10 {
		t.Errorf("an update without an endpoint made %d reads, %d writes; want one read", counted.reads, counted.sets-10)
	}
}
