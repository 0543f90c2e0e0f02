package sumsub_test

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/grid-kyc/kyc-link/pkg/kyc"
	"github.com/grid-kyc/kyc-link/pkg/strictjson"
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

func TestWebhookDigestVectors(t *testing.T) {
	for _, v := range vectors {
		t.Run("alg="+v.alg, func(t *testing.T) {
			got, err := sumsub.WebhookDigest("webhook-secret", v.alg, []byte(vectorBody))
			if err != nil || got != v.digest {
				t.Fatalf("WebhookDigest = %s, %v; want %s", got, err, v.digest)
			}
			if err := sumsub.VerifyWebhook("webhook-secret", v.alg, v.digest, []byte(vectorBody)); err != nil {
				t.Fatalf("VerifyWebhook of the vector = %v", err)
			}
		})
	}
}

func TestVerifyWebhookRefuses(t *testing.T) {
	good := vectors[1].digest
	for _, tc := range []struct {
		name, secret, alg, digest, body string
		want                            error
	}{
		{"missing digest", "webhook-secret", "", "", vectorBody, sumsub.ErrNoDigest},
		{"wrong digest", "webhook-secret", "", vectors[2].digest + "000000000000000000000000", vectorBody, sumsub.ErrBadDigest},
		{"garbage digest", "webhook-secret", "", "not hex at all", vectorBody, sumsub.ErrBadDigest},
		{"digest of another algorithm", "webhook-secret", sumsub.DigestSHA512, good, vectorBody, sumsub.ErrBadDigest},
		{"unknown algorithm", "webhook-secret", "HMAC_MD5_HEX", good, vectorBody, sumsub.ErrUnknownAlg},
		{"wrong secret", "other-secret", "", good, vectorBody, sumsub.ErrBadDigest},
		{"body changed by one byte", "webhook-secret", "", good, vectorBody + " ", sumsub.ErrBadDigest},
		{"no secret configured", "", "", good, vectorBody, sumsub.ErrNoSecret},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := sumsub.VerifyWebhook(tc.secret, tc.alg, tc.digest, []byte(tc.body)); !errors.Is(err, tc.want) {
				t.Fatalf("VerifyWebhook = %v; want %v", err, tc.want)
			}
		})
	}
	// Hex digits in upper case are the same digest.
	if err := sumsub.VerifyWebhook("webhook-secret", "", "92FAE50CA9868215D7CB71F1B2AF5FC00855E502DD06554C638150A6F7D1280E", []byte(vectorBody)); err != nil {
		t.Fatalf("upper-case digest = %v", err)
	}
}

func TestEventReviewMapping(t *testing.T) {
	at := time.Date(2026, 11, 26, 10, 11, 12, 345e6, time.UTC)
	const created = `"createdAtMs":"2026-11-26 10:11:12.345"`
	for _, tc := range []struct {
		name, body string
		want       kyc.Review
		ok         bool
	}{
		{"pending", `{"type":"applicantPending","externalUserId":"c1",` + created + `}`,
			kyc.Review{CustomerID: "c1", Status: kyc.StatusPending, At: at}, true},
		{"on hold", `{"type":"applicantOnHold","externalUserId":"c1",` + created + `}`,
			kyc.Review{CustomerID: "c1", Status: kyc.StatusHold, At: at}, true},
		{"reviewed GREEN", `{"type":"applicantReviewed","externalUserId":"c1",` + created + `,"reviewResult":{"reviewAnswer":"GREEN"}}`,
			kyc.Review{CustomerID: "c1", Status: kyc.StatusApproved, At: at}, true},
		{"reviewed RED FINAL", `{"type":"applicantReviewed","externalUserId":"c1",` + created + `,"reviewResult":{"reviewAnswer":"RED","reviewRejectType":"FINAL","rejectLabels":["FORGERY","BLACKLIST"]}}`,
			kyc.Review{CustomerID: "c1", Status: kyc.StatusRejected, At: at, RejectType: "FINAL", RejectLabels: []string{"FORGERY", "BLACKLIST"}}, true},
		{"reviewed RED RETRY", `{"type":"applicantReviewed","externalUserId":"c1",` + created + `,"reviewResult":{"reviewAnswer":"RED","reviewRejectType":"RETRY","rejectLabels":["BAD_PROOF_OF_ADDRESS"]}}`,
			kyc.Review{CustomerID: "c1", Status: kyc.StatusRejected, At: at, RejectType: "RETRY", RejectLabels: []string{"BAD_PROOF_OF_ADDRESS"}}, true},
		{"other type", `{"type":"applicantCreated","externalUserId":"c1",` + created + `}`, kyc.Review{}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, err := sumsub.ParseEvent([]byte(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			got, ok, err := e.Review()
			if err != nil || ok != tc.ok {
				t.Fatalf("Review = ok %v, %v; want ok %v", ok, err, tc.ok)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Fatalf("review (-want +got):\n%s", diff)
			}
		})
	}
	for _, bad := range []string{
		`{"type":"applicantReviewed","externalUserId":"c1",` + created + `}`,
		`{"type":"applicantReviewed","externalUserId":"c1",` + created + `,"reviewResult":{"reviewAnswer":"YELLOW"}}`,
		`{"type":"applicantPending",` + created + `}`,
		`{"type":"applicantPending","externalUserId":"c1","createdAtMs":"yesterday"}`,
		`{"type":"applicantPending","externalUserId":"c1","createdAtMs":1764151872345}`,
	} {
		t.Run("malformed "+bad, func(t *testing.T) {
			e, err := sumsub.ParseEvent([]byte(bad))
			if err == nil {
				_, _, err = e.Review()
			}
			if err == nil {
				t.Fatalf("accepted %s", bad)
			}
		})
	}
	for _, bad := range []string{``, `{`, `[]`, `{}`, `null`} {
		if _, err := sumsub.ParseEvent([]byte(bad)); err == nil {
			t.Errorf("ParseEvent(%q) accepted", bad)
		}
	}
}

// TestParseEventRefusesRepeatedKeys: a key repeated in one object, in any
// case, is refused as a *strictjson.Error the receiver names in its answer.
func TestParseEventRefusesRepeatedKeys(t *testing.T) {
	_, err := sumsub.ParseEvent([]byte(`{"type":"applicantPending","externalUserId":"c1","TYPE":"applicantReviewed"}`))
	var e *strictjson.Error
	if !errors.As(err, &e) || e.Kind != strictjson.Repeated || e.Key != "TYPE" || e.Earlier != "type" {
		t.Fatalf("ParseEvent = %v; want the repeated TYPE, first spelt type", err)
	}
}
