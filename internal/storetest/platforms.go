package storetest

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/grid-kyc/kyc-link/pkg/kyc"
	"github.com/grid-kyc/kyc-link/pkg/webhooks"
)

// PlatformStore runs the platform configuration suite. delivery is how
// webhook delivery reads the same store's URLs.
func PlatformStore(t *testing.T, newStore func(t *testing.T) (kyc.PlatformStore, webhooks.Platforms)) {
	ctx := context.Background()
	t1 := time.Date(2026, 11, 26, 9, 0, 0, 5_000_000, time.UTC)
	t2 := t1.Add(time.Hour)

	t.Run("a platform without configuration", func(t *testing.T) {
		s, d := newStore(t)
		c, err := s.PlatformConfig(ctx, "p1")
		if err != nil || c.WebhookEndpoint != "" || !c.CreatedAt.IsZero() {
			t.Errorf("PlatformConfig = %+v, %v", c, err)
		}
		if u, err := d.WebhookURL(ctx, "p1"); err != nil || u != "" {
			t.Errorf("WebhookURL = %q, %v", u, err)
		}
	})
	t.Run("set, read, change", func(t *testing.T) {
		s, d := newStore(t)
		c, changed, err := s.SetWebhookEndpoint(ctx, "p1", "https://a.example.com/hooks", t1)
		if err != nil || !changed || c.WebhookEndpoint != "https://a.example.com/hooks" || !c.CreatedAt.Equal(t1) || !c.UpdatedAt.Equal(t1) {
			t.Fatalf("SetWebhookEndpoint = %+v, %v, %v", c, changed, err)
		}
		c, changed, err = s.SetWebhookEndpoint(ctx, "p1", "https://b.example.com/hooks", t2)
		if err != nil || !changed || c.WebhookEndpoint != "https://b.example.com/hooks" || !c.CreatedAt.Equal(t1) || !c.UpdatedAt.Equal(t2) {
			t.Fatalf("second SetWebhookEndpoint = %+v, %v, %v; want createdAt kept, updatedAt moved", c, changed, err)
		}
		if got, err := s.PlatformConfig(ctx, "p1"); err != nil || got != c {
			t.Errorf("PlatformConfig = %+v, %v; want %+v", got, err, c)
		}
		if u, err := d.WebhookURL(ctx, "p1"); err != nil || u != "https://b.example.com/hooks" {
			t.Errorf("delivery reads %q, %v", u, err)
		}
		if u, _ := d.WebhookURL(ctx, "p2"); u != "" {
			t.Errorf("another platform's delivery reads %q", u)
		}
	})
	t.Run("the same endpoint again writes nothing", func(t *testing.T) {
		s, _ := newStore(t)
		set, _, err := s.SetWebhookEndpoint(ctx, "p1", "https://a.example.com/hooks", t1)
		if err != nil {
			t.Fatal(err)
		}
		c, changed, err := s.SetWebhookEndpoint(ctx, "p1", "https://a.example.com/hooks", t2)
		if err != nil || changed || c != set {
			t.Fatalf("SetWebhookEndpoint of the endpoint kept = %+v, %v, %v; want %+v unchanged", c, changed, err, set)
		}
		if got, err := s.PlatformConfig(ctx, "p1"); err != nil || got != set {
			t.Errorf("PlatformConfig = %+v, %v; want %+v (updatedAt not moved)", got, err, set)
		}
	})
}

// Sealer runs the sealer suite; open decrypts as only a test may.
func Sealer(t *testing.T, s kyc.Sealer, open func(ciphertext []byte, customerID, platformID string) ([]byte, error)) {
	ctx := context.Background()
	plain := []byte("123-45-6789")
	a, err := s.Seal(ctx, plain, "Customer:1", "p1")
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.Seal(ctx, plain, "Customer:1", "p1")
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(a, plain) || bytes.Contains(a, []byte("123456789")) || bytes.Equal(a, b) {
		t.Errorf("ciphertexts %x, %x: plaintext inside, or deterministic", a, b)
	}
	if got, err := open(a, "Customer:1", "p1"); err != nil || !bytes.Equal(got, plain) {
		t.Errorf("open = %q, %v", got, err)
	}
	for _, ctx := range [][2]string{{"Customer:2", "p1"}, {"Customer:1", "p2"}, {"Customer:1p", "1"}} {
		if _, err := open(a, ctx[0], ctx[1]); err == nil {
			t.Errorf("a ciphertext sealed for Customer:1/p1 opened for %v", ctx)
		}
	}
}
