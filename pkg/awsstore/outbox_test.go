package awsstore_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	dbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	streamtypes "github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"
	"github.com/google/go-cmp/cmp"

	"github.com/grid-kyc/kyc-link/internal/logbuf"
	"github.com/grid-kyc/kyc-link/pkg/awsstore"
	"github.com/grid-kyc/kyc-link/pkg/kyc"
	"github.com/grid-kyc/kyc-link/pkg/webhooks"
)

// deployed is an outbox item as the tables written before the codec hold
// it (pkg/customers' transaction wrote these six attributes), and the
// notice it is.
var (
	deployed = map[string]dbtypes.AttributeValue{
		"id":          &dbtypes.AttributeValueMemberS{Value: "Webhook:019ac0de-0000-7000-8000-000000000001"},
		"platformId":  &dbtypes.AttributeValueMemberS{Value: "platform-1"},
		"type":        &dbtypes.AttributeValueMemberS{Value: "CUSTOMER.KYC_APPROVED"},
		"createdAtMs": &dbtypes.AttributeValueMemberN{Value: "1764147600123"},
		"body":        &dbtypes.AttributeValueMemberS{Value: `{"id":"Webhook:019ac0de-0000-7000-8000-000000000001","type":"CUSTOMER.KYC_APPROVED"}`},
		"expiresAt":   &dbtypes.AttributeValueMemberN{Value: "1766739600"},
	}
	deployedNotice = kyc.Notice{ID: "Webhook:019ac0de-0000-7000-8000-000000000001", PlatformID: "platform-1", Type: "CUSTOMER.KYC_APPROVED",
		CreatedAt: time.UnixMilli(1764147600123).UTC(), Body: []byte(`{"id":"Webhook:019ac0de-0000-7000-8000-000000000001","type":"CUSTOMER.KYC_APPROVED"}`)}
)

// TestOutboxItemKeepsItsFormat: OutboxItem writes what deployed tables
// hold, attribute for attribute and byte for byte, and NoticeFromOutbox
// reads such an item back.
func TestOutboxItemKeepsItsFormat(t *testing.T) {
	if diff := cmp.Diff(dynamoJSON(deployed), dynamoJSON(awsstore.OutboxItem(deployedNotice))); diff != "" {
		t.Errorf("OutboxItem (-deployed +written):\n%s", diff)
	}
	got, err := awsstore.NoticeFromOutbox(deployed)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(deployedNotice, got); diff != "" {
		t.Errorf("NoticeFromOutbox (-want +got):\n%s", diff)
	}
}

// roundTrip are notices as reviews make them, and the edges of the
// format: a time that is not UTC and not whole milliseconds (kept to the
// millisecond), a body with every kind of character, empty fields that
// are allowed to be empty, a time before 1970.
func roundTrip() []kyc.Notice {
	paris, _ := time.LoadLocation("Europe/Paris")
	return []kyc.Notice{
		deployedNotice,
		{ID: "Webhook:b", PlatformID: "p", Type: "CUSTOMER.KYB_REJECTED", CreatedAt: time.Date(2026, 11, 26, 10, 0, 0, 123456789, paris),
			Body: []byte("{\"data\":{\"email\":\"ada+é@example.com\",\"note\":\"tab\\t, \\\"quote\\\", \\u2028, 😀\"}}\n")},
		{ID: "Webhook:c", CreatedAt: time.UnixMilli(0).UTC(), Body: []byte(`{}`)},
		{ID: "Webhook:d", PlatformID: "p", Type: "CUSTOMER.KYC_PENDING", CreatedAt: time.UnixMilli(-1).UTC(), Body: []byte(`{"id":"Webhook:d"}`)},
	}
}

// asRead is n as any reader gets it back: its time to the millisecond, UTC.
func asRead(n kyc.Notice) kyc.Notice {
	n.CreatedAt = time.UnixMilli(n.CreatedAt.UnixMilli()).UTC()
	return n
}

func TestOutboxRoundTrip(t *testing.T) {
	for _, n := range roundTrip() {
		got, err := awsstore.NoticeFromOutbox(awsstore.OutboxItem(n))
		if err != nil {
			t.Fatalf("%s: %v", n.ID, err)
		}
		if diff := cmp.Diff(asRead(n), got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", n.ID, diff)
		}
	}
}

// malformed are outbox records no retry can deliver: every reader refuses
// them (the relays log and skip them).
var malformed = map[string]map[string]dbtypes.AttributeValue{
	"no id":                 {"createdAtMs": &dbtypes.AttributeValueMemberN{Value: "1"}, "body": &dbtypes.AttributeValueMemberS{Value: "{}"}},
	"empty id":              {"id": &dbtypes.AttributeValueMemberS{}, "createdAtMs": &dbtypes.AttributeValueMemberN{Value: "1"}},
	"numeric id":            {"id": &dbtypes.AttributeValueMemberN{Value: "7"}, "createdAtMs": &dbtypes.AttributeValueMemberN{Value: "1"}},
	"no createdAtMs":        {"id": &dbtypes.AttributeValueMemberS{Value: "Webhook:x1"}},
	"createdAtMs a string":  {"id": &dbtypes.AttributeValueMemberS{Value: "Webhook:x2"}, "createdAtMs": &dbtypes.AttributeValueMemberS{Value: "1764147600123"}},
	"createdAtMs a decimal": {"id": &dbtypes.AttributeValueMemberS{Value: "Webhook:x3"}, "createdAtMs": &dbtypes.AttributeValueMemberN{Value: "1.5"}},
}

// odd are records every reader accepts although they are not what a
// review writes: attributes of other types read as empty, extra
// attributes (of every type) are ignored. An empty body is queued: the
// worker dead-letters the message as unreadable, where an operator sees it.
func odd() map[string]dbtypes.AttributeValue {
	return map[string]dbtypes.AttributeValue{
		"id": &dbtypes.AttributeValueMemberS{Value: "Webhook:odd"}, "createdAtMs": &dbtypes.AttributeValueMemberN{Value: "1764147600123"},
		"platformId": &dbtypes.AttributeValueMemberBOOL{Value: true}, "body": &dbtypes.AttributeValueMemberNULL{Value: true},
		"extra": &dbtypes.AttributeValueMemberM{Value: map[string]dbtypes.AttributeValue{
			"l":  &dbtypes.AttributeValueMemberL{Value: []dbtypes.AttributeValue{&dbtypes.AttributeValueMemberB{Value: []byte{0, 1}}}},
			"ss": &dbtypes.AttributeValueMemberSS{Value: []string{"a"}}, "ns": &dbtypes.AttributeValueMemberNS{Value: []string{"1"}},
			"bs": &dbtypes.AttributeValueMemberBS{Value: [][]byte{{2}}}}},
	}
}

// TestOutboxReadersAgree: the three places an outbox record is read (the
// table item, Lambda's stream event, a DynamoDB Streams record) read the
// same notices from the same items, refuse the same malformed ones and
// pass over the same records that are no insert.
func TestOutboxReadersAgree(t *testing.T) {
	type record struct {
		event string
		item  map[string]dbtypes.AttributeValue
	}
	var (
		records []record
		want    []kyc.Notice // in record order
	)
	for _, n := range roundTrip() {
		records = append(records, record{"INSERT", awsstore.OutboxItem(n)})
		want = append(want, asRead(n))
	}
	for _, name := range slices.Sorted(maps.Keys(malformed)) {
		records = append(records, record{"INSERT", malformed[name]})
	}
	records = append(records, record{"INSERT", odd()})
	want = append(want, kyc.Notice{ID: "Webhook:odd", CreatedAt: time.UnixMilli(1764147600123).UTC(), Body: []byte{}})
	// A TTL deletion and an update of an outbox item: nothing to relay.
	records = append(records, record{"REMOVE", awsstore.OutboxItem(kyc.Notice{ID: "Webhook:removed", CreatedAt: time.Now()})},
		record{"MODIFY", awsstore.OutboxItem(kyc.Notice{ID: "Webhook:modified", CreatedAt: time.Now()})})
	last := kyc.Notice{ID: "Webhook:last", PlatformID: "p", CreatedAt: time.UnixMilli(1764147600999).UTC(), Body: []byte(`{}`)}
	records = append(records, record{"INSERT", awsstore.OutboxItem(last)})
	want = append(want, last)

	t.Run("table item", func(t *testing.T) {
		var got []kyc.Notice
		refused := 0
		for _, r := range records {
			n, err := awsstore.NoticeFromOutbox(r.item)
			switch {
			case err != nil:
				refused++
			case r.event == "INSERT":
				got = append(got, n)
			}
		}
		if refused != len(malformed) {
			t.Errorf("refused %d items; want the %d malformed ones", refused, len(malformed))
		}
		checkNotices(t, want, got)
	})
	t.Run("Lambda event", func(t *testing.T) {
		var ev struct {
			Records []map[string]any `json:"Records"`
		}
		for i, r := range records {
			image := dynamoJSON(r.item)
			keys := map[string]any{}
			if id, ok := image["id"]; ok {
				keys["id"] = id
			}
			ev.Records = append(ev.Records, map[string]any{"eventID": fmt.Sprint(i), "eventName": r.event, "eventVersion": "1.1",
				"eventSource": "aws:dynamodb", "awsRegion": "us-east-1", "dynamodb": map[string]any{
					"Keys": keys, "NewImage": image, "SequenceNumber": seqOf(i), "SizeBytes": 100, "StreamViewType": "NEW_IMAGE"}})
		}
		// Decoded from JSON, as the Lambda runtime hands the event over.
		raw, _ := json.Marshal(ev)
		var event events.DynamoDBEvent
		if err := json.Unmarshal(raw, &event); err != nil {
			t.Fatal(err)
		}
		logs, q := &logbuf.Buffer{}, &fakeQueue{}
		relay := &webhooks.Relay{Queue: q, Outbox: awsstore.OutboxRecords{}, Logger: logs.Logger()}
		if err := relay.HandleStream(context.Background(), event); err != nil {
			t.Fatal(err)
		}
		checkNotices(t, want, queued(t, q))
		checkSkipped(t, logs)
	})
	t.Run("Streams record", func(t *testing.T) {
		s, q, logs := newFakeStream("outbox"), &fakeQueue{}, &logbuf.Buffer{}
		for _, r := range records {
			s.record(streamtypes.OperationType(r.event), streamImage(r.item))
		}
		stop := run(t, poller(s, q, t.TempDir(), logs).Poll)
		waitUntil(t, "the last record relayed", func() bool { return slices.Contains(q.ids(), last.ID) })
		stop()
		checkNotices(t, want, queued(t, q))
		checkSkipped(t, logs)
	})
}

func checkNotices(t *testing.T, want, got []kyc.Notice) {
	t.Helper()
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("notices (-want +got):\n%s", diff)
	}
}

// checkSkipped: each malformed record was logged once as skipped, nothing else.
func checkSkipped(t *testing.T, logs *logbuf.Buffer) {
	t.Helper()
	if n := strings.Count(logs.String(), "malformed outbox record skipped"); n != len(malformed) {
		t.Errorf("%d records logged as skipped; want the %d malformed ones:\n%s", n, len(malformed), logs)
	}
}

// queued is every notice in q, as the queue message carries it (an empty
// body included, which DecodeMessage would refuse).
func queued(t *testing.T, q *fakeQueue) []kyc.Notice {
	t.Helper()
	q.mu.Lock()
	defer q.mu.Unlock()
	var out []kyc.Notice
	for _, m := range q.msgs {
		var msg webhooks.Message
		if err := json.Unmarshal([]byte(m.body), &msg); err != nil {
			t.Fatal(err)
		}
		out = append(out, kyc.Notice{ID: msg.ID, PlatformID: msg.PlatformID, Type: msg.Type,
			CreatedAt: time.UnixMilli(msg.CreatedAtMs).UTC(), Body: []byte(msg.Body)})
	}
	return out
}

// dynamoJSON is an item in DynamoDB's JSON form ({"S": "…"}), as stream
// events and the AWS CLI show it.
func dynamoJSON(item map[string]dbtypes.AttributeValue) map[string]any {
	out := map[string]any{}
	for k, v := range item {
		out[k] = dynamoJSONValue(v)
	}
	return out
}

func dynamoJSONValue(v dbtypes.AttributeValue) map[string]any {
	switch v := v.(type) {
	case *dbtypes.AttributeValueMemberS:
		return map[string]any{"S": v.Value}
	case *dbtypes.AttributeValueMemberN:
		return map[string]any{"N": v.Value}
	case *dbtypes.AttributeValueMemberB:
		return map[string]any{"B": v.Value} // base64, as encoding/json writes []byte
	case *dbtypes.AttributeValueMemberBOOL:
		return map[string]any{"BOOL": v.Value}
	case *dbtypes.AttributeValueMemberNULL:
		return map[string]any{"NULL": v.Value}
	case *dbtypes.AttributeValueMemberSS:
		return map[string]any{"SS": v.Value}
	case *dbtypes.AttributeValueMemberNS:
		return map[string]any{"NS": v.Value}
	case *dbtypes.AttributeValueMemberBS:
		return map[string]any{"BS": v.Value}
	case *dbtypes.AttributeValueMemberL:
		l := []any{}
		for _, e := range v.Value {
			l = append(l, dynamoJSONValue(e))
		}
		return map[string]any{"L": l}
	case *dbtypes.AttributeValueMemberM:
		return map[string]any{"M": dynamoJSON(v.Value)}
	}
	panic(fmt.Sprintf("no JSON form for %T", v))
}

// streamImage is an item as DynamoDB Streams returns it.
func streamImage(item map[string]dbtypes.AttributeValue) map[string]streamtypes.AttributeValue {
	out := map[string]streamtypes.AttributeValue{}
	for k, v := range item {
		out[k] = streamValue(v)
	}
	return out
}

func streamValue(v dbtypes.AttributeValue) streamtypes.AttributeValue {
	switch v := v.(type) {
	case *dbtypes.AttributeValueMemberS:
		return &streamtypes.AttributeValueMemberS{Value: v.Value}
	case *dbtypes.AttributeValueMemberN:
		return &streamtypes.AttributeValueMemberN{Value: v.Value}
	case *dbtypes.AttributeValueMemberB:
		return &streamtypes.AttributeValueMemberB{Value: v.Value}
	case *dbtypes.AttributeValueMemberBOOL:
		return &streamtypes.AttributeValueMemberBOOL{Value: v.Value}
	case *dbtypes.AttributeValueMemberNULL:
		return &streamtypes.AttributeValueMemberNULL{Value: v.Value}
	case *dbtypes.AttributeValueMemberSS:
		return &streamtypes.AttributeValueMemberSS{Value: v.Value}
	case *dbtypes.AttributeValueMemberNS:
		return &streamtypes.AttributeValueMemberNS{Value: v.Value}
	case *dbtypes.AttributeValueMemberBS:
		return &streamtypes.AttributeValueMemberBS{Value: v.Value}
	case *dbtypes.AttributeValueMemberL:
		var l []streamtypes.AttributeValue
		for _, e := range v.Value {
			l = append(l, streamValue(e))
		}
		return &streamtypes.AttributeValueMemberL{Value: l}
	case *dbtypes.AttributeValueMemberM:
		return &streamtypes.AttributeValueMemberM{Value: streamImage(v.Value)}
	}
	panic(fmt.Sprintf("no stream form for %T", v))
}
