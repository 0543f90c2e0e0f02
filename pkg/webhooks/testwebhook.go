package webhooks

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"time"

	"github.com/google/uuid"

	"github.com/grid-kyc/kyc-link/pkg/gridhook"
	"github.com/grid-kyc/kyc-link/pkg/kyc"
	"github.com/grid-kyc/kyc-link/pkg/publicaddr"
)

// CheckEndpoint is the rule a platform's webhook endpoint must pass when
// the platform sets it (PATCH /config, kyc.Platforms.CheckEndpoint): the
// rule delivery applies (CheckURL, that is publicaddr.CheckURL), its
// reason worded for the platform. Names are checked again where delivery
// dials them (NewClient), after DNS.
func CheckEndpoint(raw string, allowLoopback bool) error {
	if _, err := publicaddr.CheckURL(raw, allowLoopback); err != nil {
		return refusal(err)
	}
	return nil
}

// MaxTestResponseBody bounds the endpoint's answer a test webhook reports.
const MaxTestResponseBody = 4 << 10

// TestSender sends Grid's TEST webhook (kyc.TestWebhookSender):
// {"id":"Webhook:<UUIDv7>","type":"TEST","timestamp":…,"data":{}}, signed
// with X-Grid-Signature as every webhook is, once, through Client (use
// NewClient: it refuses non-public addresses at dial time and follows no
// redirect).
type TestSender struct {
	Key    KeySource
	Client *http.Client
	Now    func() time.Time
}

var _ kyc.TestWebhookSender = (*TestSender)(nil)

type testEnvelope struct {
	ID        string   `json:"id"`
	Type      string   `json:"type"`
	Timestamp string   `json:"timestamp"`
	Data      struct{} `json:"data"`
}

func (s *TestSender) SendTestWebhook(ctx context.Context, platformID, url string) (kyc.TestDelivery, error) {
	id, err := uuid.NewV7()
	if err != nil {
		return kyc.TestDelivery{}, err
	}
	body, err := json.Marshal(testEnvelope{ID: "Webhook:" + id.String(), Type: "TEST", Timestamp: kyc.FormatTime(s.Now())})
	if err != nil {
		return kyc.TestDelivery{}, err
	}
	key, err := s.Key.Get(ctx)
	if err != nil {
		return kyc.TestDelivery{}, fmt.Errorf("signing key: %w", err)
	}
	sig, err := gridhook.Sign(key, body)
	if err != nil {
		return kyc.TestDelivery{}, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return kyc.TestDelivery{}, &kyc.DeliveryFailure{Reason: "the URL cannot be requested", Err: withSafeURL(err)}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(gridhook.SignatureHeader, sig)
	req.Header.Set("User-Agent", "grid-webhooks")
	resp, err := s.Client.Do(req)
	if err != nil {
		return kyc.TestDelivery{}, &kyc.DeliveryFailure{Reason: failureReason(ctx, err), Err: fmt.Errorf("test webhook to platform %s: %w", platformID, withSafeURL(err))}
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, MaxTestResponseBody))
	return kyc.TestDelivery{URL: url, Status: resp.StatusCode, Body: strings.ToValidUTF8(string(answer), "\uFFFD")}, nil
}

// failureReason says, for the platform, why its endpoint gave no answer.
func failureReason(ctx context.Context, err error) string {
	var dns *net.DNSError
	var cert *x509.UnknownAuthorityError
	var host x509.HostnameError
	var invalid x509.CertificateInvalidError
	switch {
	case errors.Is(err, ErrForbiddenAddress):
		return "the host resolves to an address that is not public"
	case ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded) || isTimeout(err):
		return "it did not answer in time"
	case errors.As(err, &dns):
		return "the host name does not resolve"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.As(err, &cert), errors.As(err, &host), errors.As(err, &invalid), strings.Contains(err.Error(), "tls:"):
		return "its TLS certificate is not valid for the host"
	}
	return "the connection failed"
}

func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}
