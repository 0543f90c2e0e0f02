package sumsub

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"strings"
	"time"

	"github.com/grid-kyc/kyc-link/pkg/kyc"
	"github.com/grid-kyc/kyc-link/pkg/strictjson"
)

// MaxWebhookBody bounds a Sumsub event; they are a few hundred bytes.
const MaxWebhookBody = 256 << 10

// Webhook digest algorithms (header X-Payload-Digest-Alg).
const (
	DigestSHA256 = "HMAC_SHA256_HEX" // Sumsub's default, also when the header is absent
	DigestSHA512 = "HMAC_SHA512_HEX"
	DigestSHA1   = "HMAC_SHA1_HEX"
)

// Webhook verification errors, the Cause of ReadWebhook's refusals. Each
// but ErrNoSecret means "not from Sumsub".
var (
	ErrNoDigest     = errors.New("sumsub webhook: no X-Payload-Digest")
	ErrBadDigest    = errors.New("sumsub webhook: X-Payload-Digest does not match the body")
	ErrUnknownAlg   = errors.New("sumsub webhook: unknown X-Payload-Digest-Alg")
	ErrNoSecret     = errors.New("sumsub webhook: no webhook secret configured")
	errBadTimestamp = errors.New(`createdAtMs is not "yyyy-MM-dd HH:mm:ss.SSS"`)
	// errRepeatedKey is the Cause of the refusal of a repeated key; the
	// key itself is in the answer.
	errRepeatedKey = errors.New("repeated JSON key")
)

// ReadWebhook reads one delivery of Sumsub's webhook: body as sent, alg
// and digest its X-Payload-Digest-Alg and X-Payload-Digest. In this
// order it checks the size on the length alone (the digest of a truncated
// body could never match, so the rest is not read and the secret not
// loaded), loads the webhook secret from creds, checks the digest
// (nothing of an unsigned body is looked at), and parses the event: a key
// repeated in one object, in any case, is refused, since two readers of
// the same signed bytes could disagree on what it says. Every error is a
// *kyc.Error to render as it is; a refusal's technical reason, if any, is
// its Cause (wrapping ErrBadDigest and the like for a digest).
func ReadWebhook(ctx context.Context, creds CredentialSource, alg, digest string, body io.Reader) (Event, error) {
	raw, err := strictjson.Read(body, MaxWebhookBody)
	if errors.Is(err, strictjson.ErrTooLarge) {
		return Event{}, kyc.InvalidField("body", "The webhook body is larger than %d bytes (%d KiB); Sumsub events are a few hundred bytes.", MaxWebhookBody, MaxWebhookBody>>10)
	}
	if err != nil {
		return Event{}, kyc.InvalidField("body", "The request body could not be read completely in time.")
	}
	c, err := creds.Get(ctx)
	if err != nil {
		return Event{}, kyc.Reword(err, "The webhook secret is temporarily unavailable.")
	}
	if err := verifyWebhook(c.WebhookSecret, alg, digest, raw); err != nil {
		if errors.Is(err, ErrNoSecret) {
			return Event{}, kyc.Misconfigured(kyc.DepSecrets, errors.New("the Sumsub secret has no webhookSecret"))
		}
		e := kyc.Errorf(kyc.CodeUnauthorized, "The webhook signature (X-Payload-Digest) is missing or does not match.")
		e.Cause = err
		return Event{}, e
	}
	ev, err := parseEvent(raw)
	var je *strictjson.Error
	if errors.As(err, &je) && je.Kind == strictjson.Repeated {
		field := strictjson.Shorten(je.Key, 64)
		var e *kyc.Error
		if je.Key != je.Earlier {
			e = kyc.InvalidField(field, "The key %q appears more than once in one object of the event (as %q too; keys that differ only in case are one key to the decoder).", field, strictjson.Shorten(je.Earlier, 64))
		} else {
			e = kyc.InvalidField(field, "The key %q appears more than once in one object of the event.", field)
		}
		e.Cause = errRepeatedKey
		return Event{}, e
	}
	if err != nil {
		return Event{}, kyc.InvalidField("body", "The webhook body is not a Sumsub event.")
	}
	return ev, nil
}

func digestHash(alg string) (func() hash.Hash, error) {
	switch alg {
	case "", DigestSHA256:
		return sha256.New, nil
	case DigestSHA512:
		return sha512.New, nil
	case DigestSHA1:
		return sha1.New, nil
	}
	return nil, ErrUnknownAlg
}

// WebhookDigest is the X-Payload-Digest Sumsub sends for body: the lower-case
// hex HMAC of the raw body bytes with the webhook secret.
func WebhookDigest(secret, alg string, body []byte) (string, error) {
	h, err := digestHash(alg)
	if err != nil {
		return "", err
	}
	m := hmac.New(h, []byte(secret))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil)), nil
}

// verifyWebhook checks the digest of the raw body in constant time.
func verifyWebhook(secret, alg, digest string, body []byte) error {
	if secret == "" {
		return ErrNoSecret
	}
	if digest == "" {
		return ErrNoDigest
	}
	want, err := WebhookDigest(secret, alg, body)
	if err != nil {
		return err
	}
	// Hex is case-insensitive; compare the decoded bytes.
	got, err := hex.DecodeString(strings.TrimSpace(digest))
	if err != nil {
		return ErrBadDigest
	}
	wantBytes, _ := hex.DecodeString(want)
	if !hmac.Equal(got, wantBytes) {
		return ErrBadDigest
	}
	return nil
}

// Event is the part of a Sumsub webhook this service reads. Sumsub sends
// no personal data in it.
type Event struct {
	Type           string        `json:"type"`
	ApplicantID    string        `json:"applicantId"`
	ExternalUserID string        `json:"externalUserId"`
	LevelName      string        `json:"levelName"`
	CorrelationID  string        `json:"correlationId"`
	ReviewStatus   string        `json:"reviewStatus"`
	SandboxMode    bool          `json:"sandboxMode"`
	CreatedAtMs    string        `json:"createdAtMs"`
	ReviewResult   *ReviewResult `json:"reviewResult"`
}

// ReviewResult is Sumsub's decision in an applicantReviewed event.
type ReviewResult struct {
	ReviewAnswer     string   `json:"reviewAnswer"` // GREEN or RED
	ReviewRejectType string   `json:"reviewRejectType"`
	RejectLabels     []string `json:"rejectLabels"`
}

// Event types that move a status.
const (
	TypePending  = "applicantPending"
	TypeOnHold   = "applicantOnHold"
	TypeReviewed = "applicantReviewed"
)

// createdAtLayout is Sumsub's createdAtMs: UTC, milliseconds.
const createdAtLayout = "2006-01-02 15:04:05.000"

// parseEvent reads a verified webhook body. Sumsub adds fields and sends
// nulls as it pleases, so those are read as encoding/json reads them; a
// key repeated in one object (in any case) is refused as a
// *strictjson.Error of kind Repeated.
func parseEvent(body []byte) (Event, error) {
	var e Event
	if err := strictjson.Decode(body, &e, strictjson.Rules{Open: true}); err != nil {
		return Event{}, fmt.Errorf("sumsub webhook: body is not a JSON event: %w", err)
	}
	if e.Type == "" {
		return Event{}, errors.New("sumsub webhook: no type")
	}
	return e, nil
}

// CreatedAt parses createdAtMs.
func (e Event) CreatedAt() (time.Time, error) {
	t, err := time.ParseInLocation(createdAtLayout, e.CreatedAtMs, time.UTC)
	if err != nil {
		return time.Time{}, errBadTimestamp
	}
	return t, nil
}

// FormatCreatedAt writes t as Sumsub's createdAtMs.
func FormatCreatedAt(t time.Time) string { return t.UTC().Format(createdAtLayout) }

// Review maps an event to the review it carries (docs/webhooks.md's mapping
// table). ok is false for event types that move no status; an
// applicantReviewed without a GREEN or RED answer, or an event without a
// customer or a valid createdAtMs, is an InvalidField for the body whose
// Cause says what is missing.
func (e Event) Review() (kyc.Review, bool, error) {
	r, ok, err := e.review()
	if err != nil {
		ke := kyc.InvalidField("body", "The Sumsub event is incomplete: %v.", err)
		ke.Cause = err
		return kyc.Review{}, false, ke
	}
	return r, ok, nil
}

func (e Event) review() (r kyc.Review, ok bool, err error) {
	switch e.Type {
	case TypePending:
		r.Status = kyc.StatusPending
	case TypeOnHold:
		r.Status = kyc.StatusHold
	case TypeReviewed:
		if e.ReviewResult == nil {
			return kyc.Review{}, false, errors.New("sumsub webhook: applicantReviewed without reviewResult")
		}
		switch e.ReviewResult.ReviewAnswer {
		case "GREEN":
			r.Status = kyc.StatusApproved
		case "RED":
			r.Status = kyc.StatusRejected
			r.RejectType = e.ReviewResult.ReviewRejectType
			r.RejectLabels = e.ReviewResult.RejectLabels
			r.Problems = Problems(e.ReviewResult.RejectLabels)
		default:
			return kyc.Review{}, false, fmt.Errorf("sumsub webhook: reviewAnswer %q is neither GREEN nor RED", e.ReviewResult.ReviewAnswer)
		}
	default:
		return kyc.Review{}, false, nil
	}
	if e.ExternalUserID == "" {
		return kyc.Review{}, false, errors.New("sumsub webhook: no externalUserId")
	}
	at, err := e.CreatedAt()
	if err != nil {
		return kyc.Review{}, false, fmt.Errorf("sumsub webhook: %w", err)
	}
	r.CustomerID, r.At = e.ExternalUserID, at
	r.AtField, r.FormatAt = "createdAtMs", FormatCreatedAt
	return r, true, nil
}
