package webhooks_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/google/go-cmp/cmp"

	"github.com/grid-kyc/kyc-link/internal/logbuf"
	"github.com/grid-kyc/kyc-link/pkg/kyc"
	"github.com/grid-kyc/kyc-link/pkg/webhooks"
)

// decoded is what fakeOutbox reads from a record, by its event id.
type decoded struct {
	notice kyc.Notice
	err    error
}

// fakeOutbox decodes a record as the test says: the outbox item format is
// awsstore's (its tests read real records).
type fakeOutbox map[string]decoded

var _ webhooks.OutboxDecoder = fakeOutbox(nil)

func (f fakeOutbox) LambdaRecord(rec events.DynamoDBEventRecord) (kyc.Notice, error) {
	d, ok := f[rec.EventID]
	if !ok {
		return kyc.Notice{}, fmt.Errorf("fake outbox: no record %s", rec.EventID)
	}
	return d.notice, d.err
}

// TestRelayHandleStream: the notices of a stream batch's inserts are
// queued in order, as queue messages; a record that adds no outbox item
// is passed over silently; a malformed one is logged once and skipped, not
// retried; a batch with nothing to queue makes no queue call; a queue
// failure fails the batch (Lambda retries it).
func TestRelayHandleStream(t *testing.T) {
	at := time.UnixMilli(1764147600123).UTC()
	a := kyc.Notice{ID: "Webhook:a", PlatformID: "p", Type: "CUSTOMER.KYC_APPROVED", CreatedAt: at, Body: []byte(`{"id":"Webhook:a"}`)}
	b := kyc.Notice{ID: "Webhook:b", PlatformID: "p", Type: "CUSTOMER.KYC_PENDING", CreatedAt: at, Body: []byte(`{"id":"Webhook:b"}`)}
	outbox := fakeOutbox{
		"a": {notice: a}, "b": {notice: b},
		"removed":   {err: webhooks.ErrNotAnInsert},
		"malformed": {err: errors.New("outbox record \"Webhook:x\" without id or createdAtMs")},
		"wrapped":   {err: fmt.Errorf("decoding: %w", webhooks.ErrNotAnInsert)},
	}
	batch := func(ids ...string) events.DynamoDBEvent {
		var ev events.DynamoDBEvent
		for _, id := range ids {
			ev.Records = append(ev.Records, events.DynamoDBEventRecord{EventID: id})
		}
		return ev
	}
	for _, tc := range []struct {
		name    string
		ids     []string
		refuse  error
		queued  []kyc.Notice
		sends   int
		skipped int
		wantErr bool
	}{
		{name: "inserts", ids: []string{"a", "b"}, queued: []kyc.Notice{a, b}, sends: 1},
		{name: "mixed", ids: []string{"removed", "a", "malformed", "wrapped", "b"}, queued: []kyc.Notice{a, b}, sends: 1, skipped: 1},
		{name: "nothing to queue", ids: []string{"removed", "malformed"}, skipped: 1},
		{name: "empty batch"},
		{name: "queue down", ids: []string{"a"}, refuse: errors.New("queue down"), sends: 1, wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			logs, q := &logbuf.Buffer{}, &fakeQueue{refuse: tc.refuse}
			r := &webhooks.Relay{Queue: q, Outbox: outbox, Logger: logs.Logger()}
			err := r.HandleStream(context.Background(), batch(tc.ids...))
			if (err != nil) != tc.wantErr {
				t.Fatalf("HandleStream = %v; want an error: %v", err, tc.wantErr)
			}
			if diff := cmp.Diff(tc.queued, q.notices(t)); diff != "" {
				t.Errorf("queued (-want +got):\n%s", diff)
			}
			if n := q.sendCalls(); n != tc.sends {
				t.Errorf("%d queue calls; want %d", n, tc.sends)
			}
			if n := strings.Count(logs.String(), "malformed outbox record skipped"); n != tc.skipped {
				t.Errorf("%d records logged as skipped; want %d:\n%s", n, tc.skipped, logs)
			}
			if tc.skipped > 0 && !strings.Contains(logs.String(), `without id or createdAtMs`) {
				t.Errorf("the skipped record's reason was not logged:\n%s", logs)
			}
		})
	}
}
