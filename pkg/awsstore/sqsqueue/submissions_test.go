package sqsqueue_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/google/go-cmp/cmp"

	"github.com/grid-kyc/kyc-link/internal/logbuf"
	"github.com/grid-kyc/kyc-link/pkg/awsstore"
	"github.com/grid-kyc/kyc-link/pkg/awsstore/sqsqueue"
	"github.com/grid-kyc/kyc-link/pkg/kyc"
	"github.com/grid-kyc/kyc-link/pkg/webhooks"
)

// memQueue is a webhooks.Queue that records what is done to it.
type memQueue struct {
	mu       sync.Mutex
	sent     []string
	sendErr  error
	hidden   map[string]time.Duration // receipt -> visibility set
	deleted  []string
	visErr   error
	messages []webhooks.Received // Receive hands these out once
}

func (q *memQueue) Send(_ context.Context, bodies [][]byte) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.sendErr != nil {
		return q.sendErr
	}
	for _, b := range bodies {
		q.sent = append(q.sent, string(b))
	}
	return nil
}

func (q *memQueue) Receive(ctx context.Context, limit int, _ time.Duration) ([]webhooks.Received, error) {
	q.mu.Lock()
	n := min(limit, len(q.messages))
	out := q.messages[:n]
	q.messages = q.messages[n:]
	q.mu.Unlock()
	if n == 0 {
		select {
		case <-ctx.Done():
		case <-time.After(10 * time.Millisecond):
		}
	}
	return out, nil
}

func (q *memQueue) ChangeVisibility(_ context.Context, receipt string, d time.Duration) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.hidden == nil {
		q.hidden = map[string]time.Duration{}
	}
	q.hidden[receipt] = d
	return q.visErr
}

func (q *memQueue) Delete(_ context.Context, receipt string) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.deleted = append(q.deleted, receipt)
	return nil
}

// jobs answers each verification id as told, and records the calls.
type jobs struct {
	mu       sync.Mutex
	outcomes map[string]kyc.SubmitOutcome
	errs     map[string]error
	calls    []string
	deadline time.Duration // the time left to the last call's deadline
}

func (j *jobs) Submit(ctx context.Context, id string) (kyc.SubmitOutcome, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.calls = append(j.calls, id)
	if d, ok := ctx.Deadline(); ok {
		j.deadline = time.Until(d)
	}
	if err := j.errs[id]; err != nil {
		return "", err
	}
	return j.outcomes[id], nil
}

// Purge records the call as "purge <platform> <customer>", then the
// owners' ids, if any.
func (j *jobs) Purge(ctx context.Context, platformID, customerID string, ownerIDs []string) (kyc.SubmitOutcome, error) {
	return j.Submit(ctx, strings.Join(append([]string{"purge", platformID, customerID}, ownerIDs...), " "))
}

func TestSubmissionMessages(t *testing.T) {
	body := sqsqueue.EncodeSubmission("Verification:v1")
	if string(body) != `{"verificationId":"Verification:v1"}` {
		t.Errorf("message %s", body)
	}
	if id, err := sqsqueue.DecodeSubmission(string(body)); err != nil || id != "Verification:v1" {
		t.Errorf("decoded %q, %v", id, err)
	}
	for _, bad := range []string{``, `not json`, `{}`, `{"verificationId":""}`, `{"verificationId":7}`, `{"verificationId":"v","x":1}`,
		`{"verificationId":"v"} {}`, `["v"]`} {
		if id, err := sqsqueue.DecodeSubmission(bad); err == nil {
			t.Errorf("DecodeSubmission(%q) = %q; want an error", bad, id)
		}
	}
}

// TestSubmissionRelay: of a verifications stream batch, only the INSERTs
// of verifications IN_PROGRESS are queued, one message each; a queue that
// refuses fails the batch (Lambda retries it).
func TestSubmissionRelay(t *testing.T) {
	image := func(id, status string) map[string]events.DynamoDBAttributeValue {
		return map[string]events.DynamoDBAttributeValue{"id": events.NewStringAttribute(id), "verificationStatus": events.NewStringAttribute(status)}
	}
	ev := events.DynamoDBEvent{Records: []events.DynamoDBEventRecord{
		{EventName: "INSERT", Change: events.DynamoDBStreamRecord{NewImage: image("Verification:a", "IN_PROGRESS")}},
		{EventName: "INSERT", Change: events.DynamoDBStreamRecord{NewImage: image("Verification:b", "RESOLVE_ERRORS")}},
		{EventName: "MODIFY", Change: events.DynamoDBStreamRecord{OldImage: image("Verification:a", "IN_PROGRESS"), NewImage: image("Verification:a", "IN_PROGRESS")}},
		{EventName: "MODIFY", Change: events.DynamoDBStreamRecord{OldImage: image("Verification:c", "PENDING_MANUAL_REVIEW"), NewImage: image("Verification:c", "IN_PROGRESS")}},
		{EventName: "REMOVE", Change: events.DynamoDBStreamRecord{OldImage: image("Verification:d", "IN_PROGRESS")}},
		// A verification whose status is no string: no job (a malformed
		// record cannot be anyone's submission).
		{EventName: "INSERT", Change: events.DynamoDBStreamRecord{NewImage: map[string]events.DynamoDBAttributeValue{
			"id": events.NewStringAttribute("Verification:e"), "verificationStatus": events.NewNumberAttribute("1")}}},
		{EventName: "INSERT", Change: events.DynamoDBStreamRecord{NewImage: image("Verification:f", "IN_PROGRESS")}},
	}}
	q := &memQueue{}
	r := &sqsqueue.SubmissionRelay{Queue: q, Records: awsstore.SubmissionRecords{}}
	if err := r.HandleStream(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
	if want := []string{`{"verificationId":"Verification:a"}`, `{"verificationId":"Verification:f"}`}; !cmp.Equal(q.sent, want) {
		t.Errorf("queued %v; want %v", q.sent, want)
	}
	q = &memQueue{sendErr: errors.New("throttled")}
	r.Queue = q
	if err := r.HandleStream(context.Background(), ev); err == nil || !strings.Contains(err.Error(), "throttled") {
		t.Errorf("a refused send: %v; want the batch failed", err)
	}
	if err := r.HandleStream(context.Background(), events.DynamoDBEvent{Records: ev.Records[1:2]}); err != nil {
		t.Errorf("a batch with no job, the queue down: %v; want nothing sent and no error", err)
	}
}

// TestSubmissionWorker: each message is one job. Done (any outcome, a
// message that is no job) is acknowledged; a failed job is reported
// failed and hidden for 30 s doubling per receipt, at most 15 minutes;
// each attempt is one log line with the verification, the outcome and
// the attempt; a job runs until the invocation's deadline less the
// reserve.
func TestSubmissionWorker(t *testing.T) {
	down := kyc.Outage(kyc.DepProvider, false, "The verification provider is temporarily unavailable.", time.Second, errors.New("sumsub: HTTP 503"))
	j := &jobs{outcomes: map[string]kyc.SubmitOutcome{"Verification:ok": kyc.Submitted, "Verification:gone": kyc.SubmitNotNeeded},
		errs: map[string]error{"Verification:down": down}}
	var records []events.SQSMessage
	add := func(id, body string, receives int) {
		records = append(records, events.SQSMessage{MessageId: id, ReceiptHandle: "r-" + id, Body: body,
			Attributes: map[string]string{"ApproximateReceiveCount": fmt.Sprint(receives)}})
	}
	add("m-ok", `{"verificationId":"Verification:ok"}`, 1)
	add("m-gone", `{"verificationId":"Verification:gone"}`, 3)
	add("m-poison", `{"verification":"x"}`, 1)
	for _, n := range []int{1, 2, 3, 5, 6, 9} {
		add(fmt.Sprint("m-down-", n), `{"verificationId":"Verification:down"}`, n)
	}
	q := &memQueue{}
	logs := &logbuf.Buffer{}
	w := &sqsqueue.SubmissionWorker{Jobs: j, Queue: q, Backoff: webhooks.Policy{Base: 30 * time.Second, Max: 15 * time.Minute},
		Timeout: time.Minute, Reserve: 5 * time.Second, Concurrency: 3, Logger: logs.Logger()}
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	resp, err := w.HandleSQS(ctx, events.SQSEvent{Records: records})
	if err != nil {
		t.Fatal(err)
	}
	failed := map[string]bool{}
	for _, f := range resp.BatchItemFailures {
		failed[f.ItemIdentifier] = true
	}
	wantFailed := map[string]bool{"m-down-1": true, "m-down-2": true, "m-down-3": true, "m-down-5": true, "m-down-6": true, "m-down-9": true}
	if !cmp.Equal(failed, wantFailed) {
		t.Errorf("failed items %v; want the failed jobs' only", failed)
	}
	wantHidden := map[string]time.Duration{"r-m-down-1": 30 * time.Second, "r-m-down-2": time.Minute, "r-m-down-3": 2 * time.Minute,
		"r-m-down-5": 8 * time.Minute, "r-m-down-6": 15 * time.Minute, "r-m-down-9": 15 * time.Minute}
	if !cmp.Equal(q.hidden, wantHidden) {
		t.Errorf("hidden %v; want %v", q.hidden, wantHidden)
	}
	if len(j.calls) != 8 {
		t.Errorf("jobs run %v; want one per message that is a job", j.calls)
	}
	if j.deadline > 115*time.Second || j.deadline < 100*time.Second {
		t.Errorf("a job had %v; want the invocation's 120 s less the 5 s reserve", j.deadline)
	}
	lines := map[string]map[string]any{}
	for _, l := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		if m["msg"] != "submission" {
			t.Errorf("a line that is no attempt's: %s", l)
			continue
		}
		lines[m["message_id"].(string)] = m
	}
	if len(lines) != len(records) {
		t.Errorf("%d attempt lines for %d messages", len(lines), len(records))
	}
	for id, want := range map[string]string{"m-ok": "INFO submitted 1 Verification:ok", "m-gone": "INFO nothing_to_do 3 Verification:gone",
		"m-poison": "ERROR unreadable 1 <nil>", "m-down-5": "WARN failed 5 Verification:down"} {
		l := lines[id]
		if got := fmt.Sprint(l["level"], " ", l["outcome"], " ", l["attempt"], " ", l["verification_id"]); got != want {
			t.Errorf("%s's line %v; want %s", id, l, want)
		}
	}
	if l := lines["m-down-5"]; l["retry_in"] != "8m0s" || l["dependency"] != "PROVIDER" || !strings.Contains(fmt.Sprint(l["error"]), "HTTP 503") {
		t.Errorf("a failed attempt's line %v; want when it runs again, the failed dependency and the error", l)
	}

	// Outside Lambda (Poll): the same attempt; done messages are deleted,
	// failed ones left hidden.
	q = &memQueue{messages: []webhooks.Received{{ID: "p-ok", Receipt: "r-p-ok", Body: `{"verificationId":"Verification:ok"}`, Receives: 1},
		{ID: "p-down", Receipt: "r-p-down", Body: `{"verificationId":"Verification:down"}`, Receives: 2},
		{ID: "p-poison", Receipt: "r-p-poison", Body: `nope`, Receives: 1}}}
	w.Queue = q
	pctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { w.Poll(pctx); close(done) }()
	for end := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		q.mu.Lock()
		n := len(q.deleted) + len(q.hidden)
		q.mu.Unlock()
		if n == 3 || time.Now().After(end) {
			break
		}
	}
	stop()
	<-done
	if want := []string{"r-p-ok", "r-p-poison"}; !cmp.Equal(slices.Sorted(slices.Values(q.deleted)), want) || q.hidden["r-p-down"] != time.Minute {
		t.Errorf("deleted %v, hidden %v; want %v deleted, r-p-down hidden a minute", q.deleted, q.hidden, want)
	}
}

// TestPurgeMessages: a purge job's message runs the purge, not a
// submission; a message naming both, or a purge without its platform, is
// no job (acknowledged, never retried).
func TestPurgeMessages(t *testing.T) {
	q := &memQueue{}
	j := &jobs{outcomes: map[string]kyc.SubmitOutcome{"purge p1 Customer:c1": kyc.Purged}}
	w := &sqsqueue.SubmissionWorker{Jobs: j, Queue: q, Backoff: webhooks.Policy{Base: time.Second, Max: time.Minute},
		Timeout: time.Second, Concurrency: 1, Logger: slog.New(slog.NewJSONHandler(io.Discard, nil))}
	ev := events.SQSEvent{Records: []events.SQSMessage{
		{MessageId: "1", Body: string(sqsqueue.EncodePurge(sqsqueue.Purge{PlatformID: "p1", CustomerID: "Customer:c1"})), Attributes: map[string]string{"ApproximateReceiveCount": "1"}},
		// A business's purge names its owners: the job purges theirs too.
		{MessageId: "4", Body: string(sqsqueue.EncodePurge(sqsqueue.Purge{PlatformID: "p1", CustomerID: "Customer:c2",
			OwnerIDs: []string{"BeneficialOwner:o1", "BeneficialOwner:o2"}})), Attributes: map[string]string{"ApproximateReceiveCount": "1"}},
		{MessageId: "2", Body: `{"verificationId":"Verification:v","purgeCustomerId":"Customer:c1","platformId":"p1"}`, Attributes: map[string]string{"ApproximateReceiveCount": "1"}},
		{MessageId: "3", Body: `{"purgeCustomerId":"Customer:c1"}`, Attributes: map[string]string{"ApproximateReceiveCount": "1"}},
	}}
	resp, err := w.HandleSQS(context.Background(), ev)
	if err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("HandleSQS = %+v, %v; want every message done", resp, err)
	}
	if want := []string{"purge p1 Customer:c1", "purge p1 Customer:c2 BeneficialOwner:o1 BeneficialOwner:o2"}; !cmp.Equal(slices.Sorted(slices.Values(j.calls)), want) {
		t.Errorf("jobs run %v; want %v", j.calls, want)
	}
}

// TestPurgeRelay: of a customers stream batch, only the removal of a
// deleted customer queues a purge job, with the owners its old image
// holds (the item as the store writes it), in their order.
func TestPurgeRelay(t *testing.T) {
	at := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	owner := func(id string) kyc.BeneficialOwner {
		return kyc.BeneficialOwner{ID: id, Roles: []string{kyc.RoleUBO}, OwnershipPercentage: 30, FirstName: "Ann", LastName: "Lee",
			IdentifierSealed: []byte("sealed " + id), CreatedAt: at, UpdatedAt: at, KYCStatus: kyc.StatusPending, LastReviewAt: at}
	}
	biz := kyc.Customer{ID: "Customer:b", PlatformID: "p1", Type: kyc.Business, IsDeleted: true, CreatedAt: at, UpdatedAt: at, Version: 3,
		Owners: []kyc.BeneficialOwner{owner("BeneficialOwner:o2"), owner("BeneficialOwner:o1")}}
	ind := kyc.Customer{ID: "Customer:i", PlatformID: "p1", Type: kyc.Individual, IsDeleted: true, CreatedAt: at, Version: 2}
	live := biz
	live.ID, live.IsDeleted = "Customer:live", false
	ev := events.DynamoDBEvent{Records: []events.DynamoDBEventRecord{
		{EventName: "REMOVE", Change: events.DynamoDBStreamRecord{OldImage: lambdaImage(t, awsstore.CustomerItem(biz))}},
		{EventName: "REMOVE", Change: events.DynamoDBStreamRecord{OldImage: lambdaImage(t, awsstore.CustomerItem(live))}},
		{EventName: "MODIFY", Change: events.DynamoDBStreamRecord{OldImage: lambdaImage(t, awsstore.CustomerItem(biz))}},
		{EventName: "REMOVE", Change: events.DynamoDBStreamRecord{OldImage: lambdaImage(t, awsstore.CustomerItem(ind))}},
	}}
	q := &memQueue{}
	r := &sqsqueue.SubmissionRelay{Queue: q, Purges: awsstore.PurgeRecords{}}
	if err := r.HandlePurgeStream(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
	want := []string{`{"purgeCustomerId":"Customer:b","platformId":"p1","ownerIds":["BeneficialOwner:o2","BeneficialOwner:o1"]}`,
		`{"purgeCustomerId":"Customer:i","platformId":"p1"}`}
	if !cmp.Equal(q.sent, want) {
		t.Errorf("queued %v; want %v", q.sent, want)
	}
}

// lambdaImage is item as Lambda hands a stream image over (the record's
// JSON, decoded).
func lambdaImage(t *testing.T, item map[string]types.AttributeValue) map[string]events.DynamoDBAttributeValue {
	t.Helper()
	var conv func(v types.AttributeValue) any
	conv = func(v types.AttributeValue) any {
		switch v := v.(type) {
		case *types.AttributeValueMemberS:
			return map[string]any{"S": v.Value}
		case *types.AttributeValueMemberN:
			return map[string]any{"N": v.Value}
		case *types.AttributeValueMemberB:
			return map[string]any{"B": v.Value} // base64, as JSON writes []byte
		case *types.AttributeValueMemberBOOL:
			return map[string]any{"BOOL": v.Value}
		case *types.AttributeValueMemberL:
			l := []any{}
			for _, e := range v.Value {
				l = append(l, conv(e))
			}
			return map[string]any{"L": l}
		case *types.AttributeValueMemberM:
			m := map[string]any{}
			for k, e := range v.Value {
				m[k] = conv(e)
			}
			return map[string]any{"M": m}
		}
		t.Fatalf("no Lambda form for %T", v)
		return nil
	}
	doc := map[string]any{}
	for k, v := range item {
		doc[k] = conv(v)
	}
	raw, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]events.DynamoDBAttributeValue
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatal(err)
	}
	return out
}
