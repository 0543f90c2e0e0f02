//go:build integration

package app_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	"github.com/google/go-cmp/cmp"

	"github.com/grid-kyc/kyc-link/internal/contract"
	"github.com/grid-kyc/kyc-link/internal/logbuf"
	"github.com/grid-kyc/kyc-link/internal/motostack"
	"github.com/grid-kyc/kyc-link/pkg/app"
	"github.com/grid-kyc/kyc-link/pkg/awsstore"
	"github.com/grid-kyc/kyc-link/pkg/kyc"
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
	t.Setenv("XDG_CACHE_HOME", t.TempDir()) // the local relay's checkpoint
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
	t.Setenv("XDG_CACHE_HOME", t.TempDir()) // the local relay's checkpoint
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
	t.Setenv("XDG_CACHE_HOME", t.TempDir()) // the local relay's checkpoint
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
	t.Setenv("XDG_CACHE_HOME", t.TempDir()) // the local relay's checkpoint
	e := newHookEnv(t, map[string]string{"WEBHOOK_RETRY_FOR": "2s"}, [3]string{"c1", "p", "BUSINESS"})
	e.platform.SetStatus(500)
	ack(t, e.post(t, event(sumsub.TypeReviewed, "c1", t0, "RED", "FINAL"), ""), "applied")
	dead := e.app.DeadLetters.(*awsstore.DeadLetters)
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
	if n, err := webhooks.Redrive(context.Background(), dead, e.app.Relay, time.Now()); n != 1 || err != nil {
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
	t.Setenv("XDG_CACHE_HOME", t.TempDir()) // the local relay's checkpoint
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
	t.Setenv("XDG_CACHE_HOME", t.TempDir()) // the local relay's checkpoint
	e := newHookEnv(t, nil)
	good := func(id string) events.DynamoDBEventRecord {
		return events.DynamoDBEventRecord{EventName: "INSERT", Change: events.DynamoDBStreamRecord{NewImage: map[string]events.DynamoDBAttributeValue{
			"id": events.NewStringAttribute(id), "platformId": events.NewStringAttribute("p"),
			"type": events.NewStringAttribute("CUSTOMER.KYC_PENDING"), "createdAtMs": events.NewNumberAttribute("1764151872345"),
			"body": events.NewStringAttribute(`{"id":"` + id + `"}`)}}}
	}
	bad := events.DynamoDBEventRecord{EventName: "INSERT", Change: events.DynamoDBStreamRecord{NewImage: map[string]events.DynamoDBAttributeValue{
		"id": events.NewStringAttribute("Webhook:bad"), "createdAtMs": events.NewStringAttribute("not a number")}}}
	err := e.app.Relay.HandleStream(context.Background(), events.DynamoDBEvent{Records: []events.DynamoDBEventRecord{good("Webhook:a"), bad, good("Webhook:b")}})
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

// countingQueue records what the relay queues.
type countingQueue struct {
	webhooks.Queue // the relay calls only Send
	mu             sync.Mutex
	ids            []string
}

func (q *countingQueue) Send(_ context.Context, bodies [][]byte) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, b := range bodies {
		n, err := webhooks.DecodeMessage(b)
		if err != nil {
			return err
		}
		q.ids = append(q.ids, n.ID)
	}
	return nil
}

func (q *countingQueue) queued() []string {
	q.mu.Lock()
	defer q.mu.Unlock()
	return slices.Clone(q.ids)
}

// TestLocalRelayOnMoto: the local relay against moto's stream. A restart
// resumes after the last record relayed (nothing sent twice). A cancelled
// transaction on the outbox table, after which moto restores a copy of
// the table (the open iterator stays on the discarded one, and the next
// record takes the sequence number of the cancelled write's record), does
// not stop it: records written afterwards are relayed, each once.
func TestLocalRelayOnMoto(t *testing.T) {
	moto := moto.Need(t)
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	table := motostack.New(t, moto, motostack.Options{Only: []string{"WebhookOutboxTable"}}).Names["WebhookOutboxTable"]
	db := moto.DynamoDB()
	S := func(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
	item := func(id string) map[string]types.AttributeValue {
		return awsstore.OutboxItem(kyc.Notice{ID: id, PlatformID: "p", Type: "CUSTOMER.KYC_PENDING",
			CreatedAt: time.UnixMilli(1764151872345).UTC(), Body: []byte(`{"id":"` + id + `"}`)})
	}
	put := func(ids ...string) {
		for _, id := range ids {
			if _, err := db.PutItem(context.Background(), &dynamodb.PutItemInput{TableName: aws.String(table), Item: item(id)}); err != nil {
				t.Fatal(err)
			}
		}
	}
	logs := &logbuf.Buffer{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Log(logs)
		}
	})
	q := &countingQueue{}
	start := func() (stop func()) {
		p := &awsstore.StreamPoller{Streams: dynamodbstreams.NewFromConfig(moto.Config()), Tables: db, Table: table,
			Relay: &webhooks.Relay{Queue: q, Logger: logs.Logger()}, Interval: 50 * time.Millisecond, Logger: logs.Logger()}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { p.Poll(ctx); close(done) }()
		var once sync.Once
		stop = func() { once.Do(func() { cancel(); <-done }) }
		t.Cleanup(stop)
		return stop
	}
	waitQueued := func(ids ...string) {
		t.Helper()
		waitFor(t, 30*time.Second, fmt.Sprint(ids, " not all queued"), func() bool {
			got := q.queued()
			return !slices.ContainsFunc(ids, func(id string) bool { return !slices.Contains(got, id) })
		})
	}

	put("Webhook:1", "Webhook:2")
	stop := start()
	waitQueued("Webhook:1", "Webhook:2")
	stop()
	put("Webhook:3")
	stop = start()
	waitQueued("Webhook:3")
	if got := q.queued(); len(got) != 3 {
		t.Fatalf("queued %v; want Webhook:3 alone after the restart", got)
	}

	_, err := db.TransactWriteItems(context.Background(), &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Put: &types.Put{TableName: aws.String(table), Item: item("Webhook:rolled-back")}},
		{ConditionCheck: &types.ConditionCheck{TableName: aws.String(table), Key: map[string]types.AttributeValue{"id": S("Webhook:1")},
			ConditionExpression: aws.String("attribute_not_exists(id)")}},
	}})
	var cancelled *types.TransactionCanceledException
	if !errors.As(err, &cancelled) {
		t.Fatalf("TransactWriteItems = %v; want it cancelled", err)
	}
	put("Webhook:4", "Webhook:5")
	waitQueued("Webhook:4", "Webhook:5")
	stop()
	// The cancelled transaction's record is moto's phantom: the old
	// iterator may read it on the discarded copy before the relay moves on.
	got := slices.DeleteFunc(q.queued(), func(id string) bool { return id == "Webhook:rolled-back" })
	if diff := cmp.Diff([]string{"Webhook:1", "Webhook:2", "Webhook:3", "Webhook:4", "Webhook:5"}, got); diff != "" {
		t.Fatalf("queued (-want +got, the phantom left out):\n%s", diff)
	}
}

// newHookEnvWith is newHookEnv with a configuration change the
// environment cannot express.
func newHookEnvWith(t *testing.T, change func(*app.Config), customers ...[3]string) *hookEnv {
	moto.Need(t)
	signing, platform := newSigningKey(t)
	env := hookTables(t, platform.URL+"/hooks", signing, customers...)
	cfg, err := app.ConfigFromEnv(func(k string) string { return env[k] }, false)
	if err != nil {
		t.Fatal(err)
	}
	change(&cfg)
	for k, v := range env {
		if strings.HasPrefix(k, "AWS_") {
			t.Setenv(k, v)
		}
	}
	logs := &logbuf.Buffer{}
	ctx, stop := context.WithCancel(context.Background())
	a, err := app.Build(ctx, cfg, logs.Logger(), app.AllInOne)
	if err != nil {
		stop()
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { a.Run(ctx); close(done) }()
	t.Cleanup(func() { stop(); <-done })
	return &hookEnv{app: a, h: a.Handler(), platform: platform, cfg: cfg, logs: logs, signing: signing}
}

// TestSlowPlatformHoldsOnlyItsOwnWebhook: the local worker (make dev's, on
// moto's queue) keeps delivering while one platform hangs: a decision for
// another platform's customer, recorded during the hang, reaches that
// platform before the hang ends. The hang outlasts the test (its attempt
// timeout is ten minutes), so only a worker that waits for nobody's
// attempt passes.
func TestSlowPlatformHoldsOnlyItsOwnWebhook(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	entered, release := make(chan struct{}, 10), make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		entered <- struct{}{}
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(slow.Close)
	t.Cleanup(func() { close(release) }) // before the server closes
	e := newHookEnvWith(t, func(c *app.Config) { c.WebhookAttemptTimeout = 10 * time.Minute },
		[3]string{"hangs", "slow", "INDIVIDUAL"}, [3]string{"c1", "p", "INDIVIDUAL"})
	if _, err := moto.DynamoDB().PutItem(context.Background(), &dynamodb.PutItemInput{TableName: aws.String(e.cfg.PlatformsTable),
		Item: awsstore.PlatformItem(kyc.PlatformConfig{PlatformID: "slow", WebhookEndpoint: slow.URL + "/hooks"})}); err != nil {
		t.Fatal(err)
	}
	ack(t, e.post(t, event(sumsub.TypeReviewed, "hangs", t0, "GREEN"), ""), "applied")
	select {
	case <-entered:
	case <-time.After(60 * time.Second):
		t.Fatal("the hanging platform never got its webhook")
	}
	ack(t, e.post(t, event(sumsub.TypeReviewed, "c1", t0, "GREEN"), ""), "applied")
	waitFor(t, 60*time.Second, "the healthy platform's webhook waited for the hanging one", func() bool { return len(e.platform.Received()) == 1 })
	if got := e.platform.Received()[0].Envelope.Data.ID; got != "c1" {
		t.Fatalf("delivered the webhook of %s; want c1's", got)
	}
}
