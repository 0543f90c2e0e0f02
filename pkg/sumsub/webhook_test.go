package sumsub_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/grid-kyc/kyc-link/pkg/gridhook"
	"github.com/grid-kyc/kyc-link/pkg/httpapi"
	"github.com/grid-kyc/kyc-link/pkg/kyc"
	"github.com/grid-kyc/kyc-link/pkg/memstore"
	"github.com/grid-kyc/kyc-link/pkg/sumsub"
)

// The digests were computed independently:
//
//	printf '%s' '{"type":"applicantReviewed","externalUserId":"Customer:1"}' |
//	  openssl dgst -sha256 -hmac webhook-secret -hex   (likewise -sha1, -sha512)
const vectorBody = `{"type":"applicantReviewed","externalUserId":"Customer:1"}`

var vectors = []struct{ alg, digest string }{
	{"", "92fae50ca9868215d7cb71f1b2af5fc00855e502dd06554c638150a6f7d1280e"},
	{sumsub.DigestSHA256, "92fae50ca9868215d7cb71f1b2af5fc00855e502dd06554c638150a6f7d1280e"},
	{sumsub.DigestSHA1, "d8398a0a49fd53759460220e8df4f235bc12e864"},
	{sumsub.DigestSHA512, "1cbf1c1f2d723f35357d6ebc7e4f35f1ae4ff76f362413d7e0e43419716bb607f19c09a0fce37b42746c69094c04b916fdfa9d583894d51c6f052037d19bd4d0"},
}

const secret = "webhook-secret"

// credsFunc is a Sumsub secret source that runs f.
type credsFunc func() (sumsub.Credentials, error)

func (f credsFunc) Get(context.Context) (sumsub.Credentials, error) { return f() }

// readSigned reads body as Sumsub would deliver it, signed with secret.
func readSigned(t *testing.T, body string) (sumsub.Event, error) {
	t.Helper()
	d, err := sumsub.WebhookDigest(secret, "", []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	return sumsub.ReadWebhook(context.Background(), staticCreds{WebhookSecret: secret}, "", d, strings.NewReader(body))
}

// refusal is what a caller and the log learn of a *kyc.Error.
type refusal struct {
	Code       kyc.Code
	Message    string
	Details    map[string]any
	Dependency kyc.Dependency
	Cause      string
}

func refusalOf(t *testing.T, err error) refusal {
	t.Helper()
	var e *kyc.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v is not a *kyc.Error", err)
	}
	r := refusal{Code: e.Code, Message: e.Message, Details: e.Details, Dependency: e.Dependency}
	if e.Cause != nil {
		r.Cause = e.Cause.Error()
	}
	return r
}

func TestWebhookDigestVectors(t *testing.T) {
	for _, v := range vectors {
		t.Run("alg="+v.alg, func(t *testing.T) {
			got, err := sumsub.WebhookDigest(secret, v.alg, []byte(vectorBody))
			if err != nil || got != v.digest {
				t.Fatalf("WebhookDigest = %s, %v; want %s", got, err, v.digest)
			}
			ev, err := sumsub.ReadWebhook(context.Background(), staticCreds{WebhookSecret: secret}, v.alg, v.digest, strings.NewReader(vectorBody))
			if err != nil {
				t.Fatalf("ReadWebhook of the vector = %v", err)
			}
			if diff := cmp.Diff(sumsub.Event{Type: sumsub.TypeReviewed, ExternalUserID: "Customer:1"}, ev); diff != "" {
				t.Fatalf("event (-want +got):\n%s", diff)
			}
		})
	}
	// Hex digits in upper case are the same digest.
	if _, err := sumsub.ReadWebhook(context.Background(), staticCreds{WebhookSecret: secret}, "", strings.ToUpper(vectors[0].digest), strings.NewReader(vectorBody)); err != nil {
		t.Fatalf("upper-case digest = %v", err)
	}
}

// TestVerifyWebhookRefuses: ReadWebhook refuses a digest that is not
// Sumsub's as UNAUTHORIZED, the reason in the Cause; a secret without a
// webhook secret is our misconfiguration.
func TestVerifyWebhookRefuses(t *testing.T) {
	const unsigned = "The webhook signature (X-Payload-Digest) is missing or does not match."
	good := vectors[1].digest
	for _, tc := range []struct {
		name, secret, alg, digest, body string
		cause                           error
	}{
		{"missing digest", secret, "", "", vectorBody, sumsub.ErrNoDigest},
		{"wrong digest", secret, "", vectors[2].digest + "000000000000000000000000", vectorBody, sumsub.ErrBadDigest},
		{"garbage digest", secret, "", "not hex at all", vectorBody, sumsub.ErrBadDigest},
		{"digest of another algorithm", secret, sumsub.DigestSHA512, good, vectorBody, sumsub.ErrBadDigest},
		{"unknown algorithm", secret, "HMAC_MD5_HEX", good, vectorBody, sumsub.ErrUnknownAlg},
		{"wrong secret", "other-secret", "", good, vectorBody, sumsub.ErrBadDigest},
		{"body changed by one byte", secret, "", good, vectorBody + " ", sumsub.ErrBadDigest},
		// Unsigned and not JSON: the digest is checked before the body.
		{"unsigned garbage", secret, "", "", "{", sumsub.ErrNoDigest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := sumsub.ReadWebhook(context.Background(), staticCreds{WebhookSecret: tc.secret}, tc.alg, tc.digest, strings.NewReader(tc.body))
			want := refusal{Code: kyc.CodeUnauthorized, Message: unsigned, Cause: tc.cause.Error()}
			if diff := cmp.Diff(want, refusalOf(t, err)); diff != "" || !errors.Is(err, tc.cause) {
				t.Fatalf("ReadWebhook = %v (-want +got):\n%s", err, diff)
			}
		})
	}
	t.Run("no secret configured", func(t *testing.T) {
		_, err := sumsub.ReadWebhook(context.Background(), staticCreds{}, "", good, strings.NewReader(vectorBody))
		want := refusal{Code: kyc.CodeInternal, Message: "An internal error occurred.", Dependency: kyc.DepSecrets, Cause: "the Sumsub secret has no webhookSecret"}
		if diff := cmp.Diff(want, refusalOf(t, err)); diff != "" {
			t.Fatalf("ReadWebhook = %v (-want +got):\n%s", err, diff)
		}
	})
}

// countingReader serves n bytes of padding and counts what was read.
type countingReader struct{ left, read int }

func (c *countingReader) Read(p []byte) (int, error) {
	if c.left == 0 {
		return 0, io.EOF
	}
	n := min(len(p), c.left)
	for i := range p[:n] {
		p[i] = ' '
	}
	c.left -= n
	c.read += n
	return n, nil
}

// TestReadWebhookSize: a body over MaxWebhookBody is refused on its
// length alone, signed or not: the secret is not loaded and the rest is
// not read. One at the limit is read.
func TestReadWebhookSize(t *testing.T) {
	noSecret := credsFunc(func() (sumsub.Credentials, error) {
		t.Error("the secret was loaded for an oversize body")
		return sumsub.Credentials{WebhookSecret: secret}, nil
	})
	tooLarge := refusal{Code: kyc.CodeInvalid, Details: map[string]any{"field": "body"},
		Message: "The webhook body is larger than 262144 bytes (256 KiB); Sumsub events are a few hundred bytes."}
	for _, size := range []int{sumsub.MaxWebhookBody + 1, sumsub.MaxWebhookBody + 2, 10 << 20} {
		body := &countingReader{left: size}
		_, err := sumsub.ReadWebhook(context.Background(), noSecret, "", "00", body)
		if diff := cmp.Diff(tooLarge, refusalOf(t, err)); diff != "" {
			t.Errorf("body of %d bytes (-want +got):\n%s", size, diff)
		}
		if body.read > sumsub.MaxWebhookBody+1 {
			t.Errorf("body of %d bytes: read %d; want at most %d", size, body.read, sumsub.MaxWebhookBody+1)
		}
	}
	atLimit := vectorBody + strings.Repeat(" ", sumsub.MaxWebhookBody-len(vectorBody))
	if ev, err := readSigned(t, atLimit); err != nil || ev.ExternalUserID != "Customer:1" {
		t.Fatalf("signed body of exactly %d bytes = %+v, %v; want read", len(atLimit), ev, err)
	}
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, context.DeadlineExceeded }

// TestReadWebhookRefuses: what ReadWebhook answers for a body it cannot
// read, a secret it cannot load and a signed body that is no event.
func TestReadWebhookRefuses(t *testing.T) {
	down := kyc.Unavailable(kyc.DepSecrets, "Secrets Manager is unavailable.", 2*time.Second, errors.New("throttled"))
	notEvent := refusal{Code: kyc.CodeInvalid, Message: "The webhook body is not a Sumsub event.", Details: map[string]any{"field": "body"}}
	long := strings.Repeat("k", 100)
	for _, tc := range []struct {
		name  string
		creds sumsub.CredentialSource
		body  io.Reader
		want  refusal
	}{
		{"body not read in time", staticCreds{WebhookSecret: secret}, failingReader{},
			refusal{Code: kyc.CodeInvalid, Message: "The request body could not be read completely in time.", Details: map[string]any{"field": "body"}}},
		{"secret unavailable", credsFunc(func() (sumsub.Credentials, error) { return sumsub.Credentials{}, down }), nil,
			refusal{Code: kyc.CodeUnavailable, Message: "The webhook secret is temporarily unavailable.", Dependency: kyc.DepSecrets, Cause: "throttled"}},
		{"secret misconfigured", credsFunc(func() (sumsub.Credentials, error) {
			return sumsub.Credentials{}, kyc.Misconfigured(kyc.DepSecrets, errors.New("no such secret"))
		}), nil, refusal{Code: kyc.CodeInternal, Message: "An internal error occurred.", Dependency: kyc.DepSecrets, Cause: "no such secret"}},
		{"repeated key", nil, strings.NewReader(`{"type":"applicantPending","reviewResult":{"reviewAnswer":"RED","reviewAnswer":"GREEN"}}`),
			refusal{Code: kyc.CodeInvalid, Message: `The key "reviewAnswer" appears more than once in one object of the event.`, Details: map[string]any{"field": "reviewAnswer"}, Cause: "repeated JSON key"}},
		{"key repeated in another case", nil, strings.NewReader(`{"type":"applicantPending","externalUserId":"c1","TYPE":"applicantReviewed"}`),
			refusal{Code: kyc.CodeInvalid, Message: `The key "TYPE" appears more than once in one object of the event (as "type" too; keys that differ only in case are one key to the decoder).`, Details: map[string]any{"field": "TYPE"}, Cause: "repeated JSON key"}},
		{"long repeated key", nil, strings.NewReader(`{"type":"x","` + long + `":1,"` + long + `":2}`),
			refusal{Code: kyc.CodeInvalid, Message: `The key "` + long[:64] + `…" appears more than once in one object of the event.`, Details: map[string]any{"field": long[:64] + "…"}, Cause: "repeated JSON key"}},
		{"empty", nil, strings.NewReader(``), notEvent},
		{"truncated", nil, strings.NewReader(`{"type":`), notEvent},
		{"array", nil, strings.NewReader(`[]`), notEvent},
		{"null", nil, strings.NewReader(`null`), notEvent},
		{"no type", nil, strings.NewReader(`{"externalUserId":"c1"}`), notEvent},
		{"wrong type", nil, strings.NewReader(`{"type":1}`), notEvent},
		{"trailing data", nil, strings.NewReader(`{"type":"x"} {}`), notEvent},
	} {
		t.Run(tc.name, func(t *testing.T) {
			creds, digest := tc.creds, "00"
			if creds == nil {
				creds = staticCreds{WebhookSecret: secret}
				b, err := io.ReadAll(tc.body)
				if err != nil {
					t.Fatal(err)
				}
				digest, _ = sumsub.WebhookDigest(secret, "", b)
				tc.body = strings.NewReader(string(b))
			}
			if tc.body == nil {
				tc.body = strings.NewReader(vectorBody)
			}
			_, err := sumsub.ReadWebhook(context.Background(), creds, "", digest, tc.body)
			if diff := cmp.Diff(tc.want, refusalOf(t, err)); diff != "" {
				t.Fatalf("ReadWebhook = %v (-want +got):\n%s", err, diff)
			}
		})
	}
}

func TestEventReviewMapping(t *testing.T) {
	at := time.Date(2026, 11, 26, 10, 11, 12, 345e6, time.UTC)
	const created = `"createdAtMs":"2026-11-26 10:11:12.345"`
	review := func(id string, s kyc.Status) kyc.Review {
		return kyc.Review{CustomerID: id, Status: s, At: at, AtField: "createdAtMs"}
	}
	rejected := func(typ string, labels ...string) kyc.Review {
		r := review("c1", kyc.StatusRejected)
		r.RejectType, r.RejectLabels = typ, labels
		// Grid's error types for the labels (labels.go).
		r.Problems = map[string][]string{"FORGERY": {"SUSPECTED_FRAUD_DOCUMENT", "APPLICANT_REJECTED"},
			"BAD_PROOF_OF_ADDRESS": {"MISSING_PROOF_OF_ADDRESS_DOCUMENT"}}[labels[0]]
		return r
	}
	for _, tc := range []struct {
		name, body string
		want       kyc.Review
		ok         bool
	}{
		{"pending", `{"type":"applicantPending","externalUserId":"c1",` + created + `}`, review("c1", kyc.StatusPending), true},
		{"on hold", `{"type":"applicantOnHold","externalUserId":"c1",` + created + `}`, review("c1", kyc.StatusHold), true},
		{"reviewed GREEN", `{"type":"applicantReviewed","externalUserId":"c1",` + created + `,"reviewResult":{"reviewAnswer":"GREEN"}}`,
			review("c1", kyc.StatusApproved), true},
		{"reviewed RED FINAL", `{"type":"applicantReviewed","externalUserId":"c1",` + created + `,"reviewResult":{"reviewAnswer":"RED","reviewRejectType":"FINAL","rejectLabels":["FORGERY","BLACKLIST"]}}`,
			rejected("FINAL", "FORGERY", "BLACKLIST"), true},
		{"reviewed RED RETRY", `{"type":"applicantReviewed","externalUserId":"c1",` + created + `,"reviewResult":{"reviewAnswer":"RED","reviewRejectType":"RETRY","rejectLabels":["BAD_PROOF_OF_ADDRESS"]}}`,
			rejected("RETRY", "BAD_PROOF_OF_ADDRESS"), true},
		// The id is the domain's to judge (kyc.Reviews.Apply).
		{"id that is no customer id", `{"type":"applicantPending","externalUserId":"a@b.c",` + created + `}`, review("a@b.c", kyc.StatusPending), true},
		{"other type", `{"type":"applicantCreated","externalUserId":"c1",` + created + `}`, kyc.Review{}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, err := readSigned(t, tc.body)
			if err != nil {
				t.Fatal(err)
			}
			got, ok, err := e.Review()
			if err != nil || ok != tc.ok {
				t.Fatalf("Review = ok %v, %v; want ok %v", ok, err, tc.ok)
			}
			if diff := cmp.Diff(tc.want, got, cmpopts.IgnoreFields(kyc.Review{}, "FormatAt")); diff != "" {
				t.Fatalf("review (-want +got):\n%s", diff)
			}
			// A time is written back as Sumsub writes createdAtMs.
			if ok {
				if s := got.FormatAt(at.In(time.FixedZone("CET", 3600))); s != "2026-11-26 10:11:12.345" {
					t.Fatalf("FormatAt(at in CET) = %q; want 2026-11-26 10:11:12.345", s)
				}
			}
		})
	}
	incomplete := func(why string) refusal {
		return refusal{Code: kyc.CodeInvalid, Message: "The Sumsub event is incomplete: " + why + ".", Details: map[string]any{"field": "body"}, Cause: why}
	}
	for _, tc := range []struct {
		name, body string
		want       refusal
	}{
		{"reviewed without a result", `{"type":"applicantReviewed","externalUserId":"c1",` + created + `}`,
			incomplete("sumsub webhook: applicantReviewed without reviewResult")},
		{"neither GREEN nor RED", `{"type":"applicantReviewed","externalUserId":"c1",` + created + `,"reviewResult":{"reviewAnswer":"YELLOW"}}`,
			incomplete(`sumsub webhook: reviewAnswer "YELLOW" is neither GREEN nor RED`)},
		{"no externalUserId", `{"type":"applicantPending",` + created + `}`, incomplete("sumsub webhook: no externalUserId")},
		{"createdAtMs in words", `{"type":"applicantPending","externalUserId":"c1","createdAtMs":"yesterday"}`,
			incomplete(`sumsub webhook: createdAtMs is not "yyyy-MM-dd HH:mm:ss.SSS"`)},
		{"createdAtMs a number", `{"type":"applicantPending","externalUserId":"c1","createdAtMs":1764151872345}`,
			refusal{Code: kyc.CodeInvalid, Message: "The webhook body is not a Sumsub event.", Details: map[string]any{"field": "body"}}},
	} {
		t.Run("malformed "+tc.name, func(t *testing.T) {
			e, err := readSigned(t, tc.body)
			if err == nil {
				_, _, err = e.Review()
			}
			if err == nil {
				t.Fatalf("accepted %s", tc.body)
			}
			if diff := cmp.Diff(tc.want, refusalOf(t, err)); diff != "" {
				t.Fatalf("Review = %v (-want +got):\n%s", err, diff)
			}
		})
	}
}

// TestOwnerEventReview: an event about a beneficial owner's applicant (an
// individual whose externalUserId is the owner id) is a review of the
// owner id, mapped as any other.
func TestOwnerEventReview(t *testing.T) {
	const owner = "BeneficialOwner:019542f5-b3e7-1d02-0000-0000000000a1"
	e, err := readSigned(t, `{"type":"applicantReviewed","applicantId":"65a1","applicantType":"individual","externalUserId":"`+owner+
		`","levelName":"basic-kyc-level","reviewStatus":"completed","createdAtMs":"2026-11-26 10:11:12.345",`+
		`"reviewResult":{"reviewAnswer":"RED","reviewRejectType":"RETRY","rejectLabels":["BAD_PROOF_OF_ADDRESS"]}}`)
	if err != nil {
		t.Fatal(err)
	}
	got, ok, err := e.Review()
	if err != nil || !ok {
		t.Fatalf("Review = ok %v, %v", ok, err)
	}
	want := kyc.Review{CustomerID: owner, Status: kyc.StatusRejected, At: time.Date(2026, 11, 26, 10, 11, 12, 345e6, time.UTC),
		RejectType: "RETRY", RejectLabels: []string{"BAD_PROOF_OF_ADDRESS"}, Problems: []string{kyc.ErrMissingProofOfAddressDoc},
		AtField: "createdAtMs"}
	if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(kyc.Review{}, "FormatAt")); diff != "" {
		t.Fatalf("review (-want +got):\n%s", diff)
	}
}

// TestOwnerEventReachesReviews: Sumsub's events about two owners'
// applicants go through the receiver as it is served (signature, parse,
// the id checks, kyc.Reviews) and move each owner's kycStatus, not the
// business's; a repeat is stale.
func TestOwnerEventReachesReviews(t *testing.T) {
	const (
		business = "Customer:019542f5-b3e7-1d02-0000-0000000000b1"
		ownerA   = "BeneficialOwner:019542f5-b3e7-1d02-0000-0000000000a1"
		ownerB   = "BeneficialOwner:019542f5-b3e7-1d02-0000-0000000000a2"
	)
	store := memstore.NewCustomers(kyc.Customer{ID: business, PlatformID: "p1", Type: kyc.Business, KYBStatus: kyc.StatusPending,
		Owners: []kyc.BeneficialOwner{{ID: ownerA, KYCStatus: kyc.StatusPending}, {ID: ownerB, KYCStatus: kyc.StatusPending}}})
	now := func() time.Time { return time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC) }
	srv := &httpapi.Server{
		Receiver: &httpapi.SumsubReceiver{Credentials: staticCreds{WebhookSecret: secret},
			Reviews: &kyc.Reviews{Store: store, Owners: store, Notices: gridhook.Notices, Now: now}},
		Logger: slog.New(slog.NewJSONHandler(io.Discard, nil)), Timeout: 5 * time.Second,
	}
	deliver := func(body string) string {
		t.Helper()
		d, err := sumsub.WebhookDigest(secret, sumsub.DigestSHA256, []byte(body))
		if err != nil {
			t.Fatal(err)
		}
		r := httptest.NewRequest(http.MethodPost, "/webhooks/sumsub", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("X-Payload-Digest", d)
		r.Header.Set("X-Payload-Digest-Alg", sumsub.DigestSHA256)
		w := httptest.NewRecorder()
		srv.Handler().ServeHTTP(w, r)
		if w.Code != http.StatusOK {
			t.Fatalf("delivery = %d %s; want 200", w.Code, w.Body)
		}
		var ack struct{ Outcome string }
		if err := json.Unmarshal(w.Body.Bytes(), &ack); err != nil {
			t.Fatal(err)
		}
		return ack.Outcome
	}
	event := func(owner, typ, result string) string {
		return `{"type":"` + typ + `","applicantId":"65a1","applicantType":"individual","externalUserId":"` + owner +
			`","levelName":"basic-kyc-level","correlationId":"c1","createdAtMs":"2026-11-26 10:11:12.345"` + result + `}`
	}
	rejectA := event(ownerA, sumsub.TypeReviewed, `,"reviewResult":{"reviewAnswer":"RED","reviewRejectType":"RETRY","rejectLabels":["BAD_PROOF_OF_ADDRESS"]}`)
	for i, want := range []string{"applied", "stale"} {
		if got := deliver(rejectA); got != want {
			t.Fatalf("delivery %d of A's rejection = %q; want %q", i+1, got, want)
		}
	}
	if got := deliver(event(ownerB, sumsub.TypeReviewed, `,"reviewResult":{"reviewAnswer":"GREEN"}`)); got != "applied" {
		t.Fatalf("B's approval = %q; want applied", got)
	}
	c, err := store.CustomerRecord(context.Background(), business)
	if err != nil {
		t.Fatal(err)
	}
	type ownerStatus struct {
		ID           string
		Status       kyc.Status
		RejectType   string
		RejectLabels []string
	}
	var got []ownerStatus
	for _, o := range c.Owners {
		got = append(got, ownerStatus{o.ID, o.StatusOf(), o.RejectType, o.RejectLabels})
	}
	want := []ownerStatus{{ownerA, kyc.StatusRejected, "RETRY", []string{"BAD_PROOF_OF_ADDRESS"}}, {ownerB, kyc.StatusApproved, "", nil}}
	if diff := cmp.Diff(want, got); diff != "" || c.KYBStatus != kyc.StatusPending {
		t.Fatalf("owners (-want +got):\n%s\nbusiness %s; want PENDING", diff, c.KYBStatus)
	}
}
