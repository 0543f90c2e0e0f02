package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/grid-kyc/kyc-link/internal/contract"
	"github.com/grid-kyc/kyc-link/pkg/sumsub"
	"github.com/grid-kyc/kyc-link/pkg/webhooks"
)

var t0 = time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)

func ack(t *testing.T, w interface {
	Result() *http.Response
}, wantOutcome string) {
	t.Helper()
	resp := w.Result()
	var body struct{ Outcome string }
	json.NewDecoder(resp.Body).Decode(&body)
	if resp.StatusCode != 200 || body.Outcome != wantOutcome {
		t.Fatalf("answer %d outcome %q; want 200 %q", resp.StatusCode, body.Outcome, wantOutcome)
	}
}

// TestReceiverSignatures: every algorithm Sumsub uses is accepted; a
// missing, wrong or garbage digest or an unknown algorithm is 401 and
// changes nothing.
func TestReceiverSignatures(t *testing.T) {
	e := newHookEnv(t, nil, [3]string{"c1", "p", "INDIVIDUAL"})
	body := event(sumsub.TypePending, "c1", t0)
	for _, tc := range []struct {
		name, alg, digest string
	}{
		{"missing digest", "", ""},
		{"wrong digest", "", strings.Repeat("ab", 32)},
		{"garbage digest", "", "not-a-digest"},
		{"unknown algorithm", "HMAC_MD5_HEX", "00"},
		{"digest of another body", "", func() string { d, _ := sumsub.WebhookDigest(webhookSecret, "", []byte("{}")); return d }()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			digest := tc.digest
			if digest == "" {
				digest = " " // sent but blank; "" would send none at all
				if tc.name == "missing digest" {
					digest = ""
				}
			}
			w := e.postRaw(t, body, tc.alg, digest)
			if w.Code != 401 || !strings.Contains(w.Body.String(), "UNAUTHORIZED") {
				t.Fatalf("%d %s; want 401 UNAUTHORIZED", w.Code, w.Body)
			}
		})
	}
	if got := attr(e.customer(t, "c1"), "kycStatus"); got != "" {
		t.Fatalf("refused webhooks changed kycStatus to %q", got)
	}
	for i, alg := range []string{"", sumsub.DigestSHA256, sumsub.DigestSHA512, sumsub.DigestSHA1} {
		t.Run("accepted "+alg, func(t *testing.T) {
			ack(t, e.post(t, event(sumsub.TypePending, "c1", t0.Add(time.Duration(i)*time.Second)), alg), "applied")
		})
	}
}

// TestReceiverMapping: each row of the mapping table, on its own customer,
// and what a duplicate, a stale event, an unknown customer, another event
// type and a malformed body do.
func TestReceiverMapping(t *testing.T) {
	e := newHookEnv(t, nil,
		[3]string{"pend", "p", "INDIVIDUAL"}, [3]string{"hold", "p", "INDIVIDUAL"}, [3]string{"green", "p", "INDIVIDUAL"},
		[3]string{"final", "p", "INDIVIDUAL"}, [3]string{"retry", "p", "INDIVIDUAL"}, [3]string{"biz", "p", "BUSINESS"},
		[3]string{"order", "p", "INDIVIDUAL"})
	for _, tc := range []struct {
		name, customer, field, want, rejectType string
		body                                    []byte
	}{
		{"applicantPending", "pend", "kycStatus", "PENDING", "", event(sumsub.TypePending, "pend", t0)},
		{"applicantOnHold", "hold", "kycStatus", "HOLD", "", event(sumsub.TypeOnHold, "hold", t0)},
		{"reviewed GREEN", "green", "kycStatus", "APPROVED", "", event(sumsub.TypeReviewed, "green", t0, "GREEN")},
		{"reviewed RED FINAL", "final", "kycStatus", "REJECTED", "FINAL", event(sumsub.TypeReviewed, "final", t0, "RED", "FINAL")},
		{"reviewed RED RETRY", "retry", "kycStatus", "REJECTED", "RETRY", event(sumsub.TypeReviewed, "retry", t0, "RED", "RETRY")},
		{"business moves kybStatus", "biz", "kybStatus", "APPROVED", "", event(sumsub.TypeReviewed, "biz", t0, "GREEN")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ack(t, e.post(t, tc.body, ""), "applied")
			item := e.customer(t, tc.customer)
			if got := attr(item, tc.field); got != tc.want {
				t.Fatalf("%s = %q; want %q", tc.field, got, tc.want)
			}
			if got := attr(item, "reviewRejectType"); got != tc.rejectType {
				t.Fatalf("reviewRejectType = %q; want %q", got, tc.rejectType)
			}
		})
	}
	t.Run("duplicate and stale change nothing", func(t *testing.T) {
		ack(t, e.post(t, event(sumsub.TypeReviewed, "order", t0.Add(time.Minute), "GREEN"), ""), "applied")
		ack(t, e.post(t, event(sumsub.TypeReviewed, "order", t0.Add(time.Minute), "GREEN"), ""), "stale")
		ack(t, e.post(t, event(sumsub.TypePending, "order", t0), ""), "stale")
		if got := attr(e.customer(t, "order"), "kycStatus"); got != "APPROVED" {
			t.Fatalf("kycStatus = %q; want APPROVED kept", got)
		}
	})
	t.Run("unknown customer", func(t *testing.T) {
		ack(t, e.post(t, event(sumsub.TypeReviewed, "nobody", t0, "GREEN"), ""), "unknown_customer")
	})
	t.Run("other event type", func(t *testing.T) {
		ack(t, e.post(t, event("applicantCreated", "pend", t0.Add(time.Hour)), ""), "ignored")
	})
	for name, body := range map[string]string{
		"malformed JSON": `{"type":`, "not an object": `[1]`,
		"reviewed without result": string(event(sumsub.TypeReviewed, "pend", t0.Add(time.Hour))),
		"bad createdAtMs":         `{"type":"applicantPending","externalUserId":"pend","createdAtMs":"soon"}`,
	} {
		t.Run(name, func(t *testing.T) {
			if w := e.post(t, []byte(body), ""); w.Code != 400 || !strings.Contains(w.Body.String(), "INVALID_INPUT") {
				t.Fatalf("%d %s; want 400 INVALID_INPUT", w.Code, w.Body)
			}
		})
	}
	// PENDING, APPROVED, REJECTED x2, KYB APPROVED, APPROVED ("order"):
	// six webhooks; HOLD has none.
	waitFor(t, 10*time.Second, "the platform did not receive the 6 webhooks", func() bool { return len(e.platform.Received()) == 6 })
	for _, r := range e.platform.Received() {
		if err := contract.CheckGridWebhook(r.Body); err != nil {
			t.Error(err)
		}
	}
	e.noSecretsLogged(t)
}

// noSecretsLogged: neither the Sumsub webhook secret nor the signing key
// reaches the log.
func (e *hookEnv) noSecretsLogged(t *testing.T) {
	t.Helper()
	logs := e.logs.String()
	var signing struct{ PrivateKeyPem string }
	json.Unmarshal([]byte(e.signing), &signing)
	keyBody := strings.Split(signing.PrivateKeyPem, "\n")[1]
	for _, s := range []string{webhookSecret, "PRIVATE KEY", keyBody} {
		if strings.Contains(logs, s) {
			t.Errorf("the log contains %q", s)
		}
	}
}

// TestDeliveryRetriesUntilThePlatformIsUp: a platform that fails gets the
// same webhook (same id) again after the backoff, until it accepts it once.
func TestDeliveryRetriesUntilThePlatformIsUp(t *testing.T) {
	e := newHookEnv(t, nil, [3]string{"c1", "p", "INDIVIDUAL"})
	e.platform.SetStatus(503)
	ack(t, e.post(t, event(sumsub.TypeReviewed, "c1", t0, "GREEN"), ""), "applied")
	var id string
	waitFor(t, 15*time.Second, "the platform never saw two attempts", func() bool {
		id = e.platform.LastID()
		return id != "" && e.platform.Attempts(id) >= 2
	})
	e.platform.SetStatus(0)
	waitFor(t, 15*time.Second, "the webhook was never delivered after the platform came back", func() bool { return len(e.platform.Received()) == 1 })
	got := e.platform.Received()[0]
	if got.Envelope.ID != id || got.Envelope.Type != "CUSTOMER.KYC_APPROVED" || got.Envelope.Data.KYCStatus != "APPROVED" {
		t.Fatalf("delivered %+v; want %s CUSTOMER.KYC_APPROVED", got.Envelope, id)
	}
	if e.platform.Rejected() != 0 {
		t.Fatalf("%d deliveries failed the platform's signature check", e.platform.Rejected())
	}
	time.Sleep(1500 * time.Millisecond) // a second delivery, if any, would arrive by now
	if n := len(e.platform.Received()); n != 1 {
		t.Fatalf("delivered %d times; want once", n)
	}
}

// TestGivingUpDeadLettersAndRedriveDelivers: past WEBHOOK_RETRY_FOR the
// webhook lands in the dead-letter table; a redrive delivers it, same id.
func TestGivingUpDeadLettersAndRedriveDelivers(t *testing.T) {
	e := newHookEnv(t, map[string]string{"WEBHOOK_RETRY_FOR": "2s"}, [3]string{"c1", "p", "BUSINESS"})
	e.platform.SetStatus(500)
	ack(t, e.post(t, event(sumsub.TypeReviewed, "c1", t0, "RED", "FINAL"), ""), "applied")
	dead := e.hooks.DeadLetters.(*webhooks.DeadLettersDynamoDB)
	var letters []webhooks.DeadLetter
	waitFor(t, 20*time.Second, "no dead letter", func() bool {
		letters, _ = dead.List(context.Background())
		return len(letters) == 1
	})
	dl := letters[0]
	if dl.Notice.Type != "CUSTOMER.KYB_REJECTED" || dl.Attempts < 2 || !strings.Contains(dl.LastError, "500") {
		t.Fatalf("dead letter = %+v; want KYB_REJECTED after several attempts, last error 500", dl)
	}
	e.platform.SetStatus(0)
	if n, err := webhooks.Redrive(context.Background(), dead, e.hooks.Relay, time.Now()); n != 1 || err != nil {
		t.Fatalf("Redrive = %d, %v", n, err)
	}
	waitFor(t, 10*time.Second, "the redriven webhook was not delivered", func() bool { return len(e.platform.Received()) == 1 })
	if got := e.platform.Received()[0].Envelope.ID; got != dl.Notice.ID {
		t.Fatalf("redriven id %s; want %s", got, dl.Notice.ID)
	}
	if letters, _ := dead.List(context.Background()); len(letters) != 0 {
		t.Fatalf("%d dead letters after redrive; want 0", len(letters))
	}
}

// TestHundredConcurrentDecisions: 100 decisions for distinct customers at
// once: each customer's webhook is delivered exactly once.
func TestHundredConcurrentDecisions(t *testing.T) {
	var customers [][3]string
	for i := range 100 {
		customers = append(customers, [3]string{fmt.Sprintf("c%03d", i), "p", "INDIVIDUAL"})
	}
	// moto copies whole tables in every TransactWriteItems, so 100 at once
	// take seconds on a loaded 2-core machine; the deadline is sized for the
	// emulator, not for DynamoDB. (At 5 s some answer 503, correctly; a
	// Sumsub-like retry would then race moto's non-isolated rollback, which
	// can undo other customers' commits: see docs/reliability.md.)
	e := newHookEnv(t, map[string]string{"KYC_REQUEST_TIMEOUT": "60s"}, customers...)
	var wg sync.WaitGroup
	for _, c := range customers {
		wg.Go(func() {
			w := e.post(t, event(sumsub.TypeReviewed, c[0], t0, "GREEN"), "")
			if w.Code != 200 {
				t.Errorf("%s: %d %s", c[0], w.Code, w.Body)
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		for _, l := range strings.Split(e.logs.String(), "\n") {
			if strings.Contains(l, `"status":503`) {
				t.Log(l)
				break
			}
		}
	}
	waitFor(t, 30*time.Second, "not every webhook arrived", func() bool { return len(e.platform.Received()) >= 100 })
	time.Sleep(500 * time.Millisecond)
	per := map[string]int{}
	for _, r := range e.platform.Received() {
		per[r.Envelope.Data.ID]++
		if err := contract.CheckGridWebhook(r.Body); err != nil {
			t.Fatal(err)
		}
		if r.Envelope.Data.KYCStatus != "APPROVED" {
			t.Fatalf("%s delivered with status %s", r.Envelope.Data.ID, r.Envelope.Data.KYCStatus)
		}
	}
	for _, c := range customers {
		if per[c[0]] != 1 {
			t.Errorf("%s delivered %d times; want exactly once", c[0], per[c[0]])
		}
	}
	e.noSecretsLogged(t)
}

// TestRelaySkipsMalformedOutboxRecords: a record that can never be
// delivered is logged and passed over, not retried (a retry would hold
// every webhook behind it in its stream shard for 24 hours); the good
// records of the same batch are queued.
func TestRelaySkipsMalformedOutboxRecords(t *testing.T) {
	e := newHookEnv(t, nil)
	good := func(id string) events.DynamoDBEventRecord {
		return events.DynamoDBEventRecord{EventName: "INSERT", Change: events.DynamoDBStreamRecord{NewImage: map[string]events.DynamoDBAttributeValue{
			"id": events.NewStringAttribute(id), "platformId": events.NewStringAttribute("p"),
			"type": events.NewStringAttribute("CUSTOMER.KYC_PENDING"), "createdAtMs": events.NewNumberAttribute("1764151872345"),
			"body": events.NewStringAttribute(`{"id":"` + id + `"}`)}}}
	}
	bad := events.DynamoDBEventRecord{EventName: "INSERT", Change: events.DynamoDBStreamRecord{NewImage: map[string]events.DynamoDBAttributeValue{
		"id": events.NewStringAttribute("Webhook:bad"), "createdAtMs": events.NewStringAttribute("not a number")}}}
	err := e.hooks.Relay.HandleStream(context.Background(), events.DynamoDBEvent{Records: []events.DynamoDBEventRecord{good("Webhook:a"), bad, good("Webhook:b")}})
	if err != nil {
		t.Fatalf("HandleStream = %v; want the malformed record skipped, not the batch failed", err)
	}
	if !strings.Contains(e.logs.String(), "malformed outbox record skipped") {
		t.Fatalf("the skipped record was not logged: %s", e.logs)
	}
	// The environment's worker delivers what the relay queued.
	waitFor(t, 10*time.Second, "the good records were not delivered", func() bool { return len(e.platform.Received()) == 2 })
	for _, r := range e.platform.Received() {
		if r.Envelope.ID != "Webhook:a" && r.Envelope.ID != "Webhook:b" {
			t.Fatalf("delivered %s; want only Webhook:a and Webhook:b", r.Envelope.ID)
		}
	}
}
