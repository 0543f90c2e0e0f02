// Package webhooks delivers the notices recorded with status changes (the
// outbox) to platforms, at least once: a relay moves new outbox records to
// a queue, a worker delivers each with exponential backoff, and a notice
// that keeps failing for RetryFor lands in a dead-letter store an operator
// can inspect and redrive. Every attempt of a notice carries the same id.
package webhooks

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/grid-kyc/kyc-link/pkg/gridhook"
	"github.com/grid-kyc/kyc-link/pkg/kyc"
)

// Platforms finds where a platform receives webhooks; "" when it has
// registered no URL.
type Platforms interface {
	WebhookURL(ctx context.Context, platformID string) (string, error)
}

// KeySource supplies the signing key.
type KeySource interface {
	Get(ctx context.Context) (*ecdsa.PrivateKey, error)
}

// Policy is when to retry and when to give up.
type Policy struct {
	Base     time.Duration // first retry after this (WEBHOOK_RETRY_BASE, 1m)
	Max      time.Duration // longest wait between attempts (30m)
	RetryFor time.Duration // give up this long after the notice was created (WEBHOOK_RETRY_FOR, 168h)
}

// Backoff is the wait after the attempt-th failed attempt (1-based):
// Base doubling, at most Max.
func (p Policy) Backoff(attempt int) time.Duration {
	d := p.Base
	for i := 1; i < attempt && d < p.Max; i++ {
		d *= 2
	}
	return min(d, p.Max)
}

// Expired reports whether a notice created at created is past retrying.
func (p Policy) Expired(created, now time.Time) bool {
	return now.Sub(created) >= p.RetryFor
}

// Outcome of one attempt.
type Outcome string

const (
	Delivered Outcome = "delivered" // 2xx, or 409 (the platform has it already)
	Dropped   Outcome = "dropped"   // the platform registered no webhook URL: nothing to deliver to
	Failed    Outcome = "failed"    // try again later
)

// Deliverer makes one delivery attempt.
type Deliverer struct {
	Platforms Platforms
	Key       KeySource
	Client    *http.Client
	// AllowLoopback permits http to loopback (local runs and tests only).
	AllowLoopback bool
	Logger        *slog.Logger
}

// Deliver sends n once. A Failed outcome comes with the reason.
func (d *Deliverer) Deliver(ctx context.Context, n kyc.Notice) (Outcome, error) {
	raw, err := d.Platforms.WebhookURL(ctx, n.PlatformID)
	if err != nil {
		return Failed, fmt.Errorf("find platform %s: %w", n.PlatformID, err)
	}
	if raw == "" {
		return Dropped, nil
	}
	u, err := CheckURL(raw, d.AllowLoopback)
	if err != nil {
		// The platform can fix its URL; until it gives up, keep trying.
		return Failed, err
	}
	key, err := d.Key.Get(ctx)
	if err != nil {
		return Failed, fmt.Errorf("signing key: %w", err)
	}
	sig, err := gridhook.Sign(key, n.Body)
	if err != nil {
		return Failed, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(n.Body))
	if err != nil {
		return Failed, withSafeURL(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(gridhook.SignatureHeader, sig)
	req.Header.Set("User-Agent", "grid-webhooks")
	resp, err := d.Client.Do(req)
	if err != nil {
		return Failed, fmt.Errorf("post to platform %s: %w", n.PlatformID, withSafeURL(err))
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode/100 == 2 || resp.StatusCode == http.StatusConflict {
		return Delivered, nil
	}
	return Failed, fmt.Errorf("platform %s answered %d", n.PlatformID, resp.StatusCode)
}

// Message is a notice as queued.
type Message struct {
	ID          string `json:"id"`
	PlatformID  string `json:"platformId"`
	Type        string `json:"type"`
	CreatedAtMs int64  `json:"createdAtMs"`
	// Body is the exact JSON sent and signed, kept as a string so no
	// re-encoding can change a byte of it.
	Body string `json:"body"`
}

// EncodeMessage is n as queued.
func EncodeMessage(n kyc.Notice) ([]byte, error) {
	return json.Marshal(Message{ID: n.ID, PlatformID: n.PlatformID, Type: n.Type, CreatedAtMs: n.CreatedAt.UnixMilli(), Body: string(n.Body)})
}

// DecodeMessage reads a queued notice.
func DecodeMessage(b []byte) (kyc.Notice, error) {
	var m Message
	if err := json.Unmarshal(b, &m); err != nil || m.ID == "" || len(m.Body) == 0 {
		return kyc.Notice{}, errors.New("webhooks: unreadable queue message")
	}
	return kyc.Notice{ID: m.ID, PlatformID: m.PlatformID, Type: m.Type, CreatedAt: time.UnixMilli(m.CreatedAtMs).UTC(), Body: []byte(m.Body)}, nil
}

// DeadLetter is a notice given up on.
type DeadLetter struct {
	Notice    kyc.Notice
	Attempts  int
	LastError string
	DeadAt    time.Time
}

// DeadLetters keeps notices given up on, for inspection and redrive.
type DeadLetters interface {
	Put(ctx context.Context, dl DeadLetter) error
}
