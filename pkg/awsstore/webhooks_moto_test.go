//go:build integration

package awsstore_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/google/go-cmp/cmp"

	"github.com/grid-kyc/kyc-link/internal/motostack"
	"github.com/grid-kyc/kyc-link/pkg/awsstore"
	"github.com/grid-kyc/kyc-link/pkg/kyc"
	"github.com/grid-kyc/kyc-link/pkg/memstore"
	"github.com/grid-kyc/kyc-link/pkg/webhooks"
)

// TestQueueOnSQS: what is sent is received, each message once while it is
// hidden, with its receive count; a message made visible again comes back
// counted once more; a deleted one never comes back.
func TestQueueOnSQS(t *testing.T) {
	srv := moto.Need(t)
	ctx := context.Background()
	q := &awsstore.Queue{Client: srv.SQS(), URL: motostack.New(t, srv, motostack.Options{Only: []string{"WebhookQueue"}}).Names["WebhookQueue"]}
	sent := bodies(12)
	if err := q.Send(ctx, sent); err != nil {
		t.Fatal(err)
	}
	// receiveAll receives until n messages came, hiding each for a minute.
	receiveAll := func(n int) map[string]webhooks.Received {
		t.Helper()
		got := map[string]webhooks.Received{}
		for end := time.Now().Add(20 * time.Second); len(got) < n; {
			if time.Now().After(end) {
				t.Fatalf("received %d of %d messages", len(got), n)
			}
			msgs, err := q.Receive(ctx, 10, time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range msgs {
				if _, dup := got[m.Body]; dup {
					t.Fatalf("%s received twice while hidden", m.Body)
				}
				got[m.Body] = m
			}
		}
		return got
	}
	got := receiveAll(len(sent))
	for _, b := range sent {
		m, ok := got[string(b)]
		if !ok || m.ID == "" || m.Receipt == "" || m.Receives != 1 {
			t.Fatalf("%s received as %+v; want it once, first receive, with its id and receipt", b, m)
		}
	}
	again, gone := got[string(sent[0])], got[string(sent[1])]
	if err := q.ChangeVisibility(ctx, again.Receipt, 0); err != nil {
		t.Fatal(err)
	}
	if err := q.Delete(ctx, gone.Receipt); err != nil {
		t.Fatal(err)
	}
	back := receiveAll(1)
	if m := back[string(sent[0])]; len(back) != 1 || m.ID != again.ID || m.Receives != 2 {
		t.Fatalf("after ChangeVisibility(0) received %+v; want %s back, its second receive", back, again.ID)
	}
	for _, m := range got {
		if m.ID != again.ID && m.ID != gone.ID {
			if err := q.ChangeVisibility(ctx, m.Receipt, 0); err != nil {
				t.Fatal(err)
			}
		}
	}
	rest := receiveAll(len(sent) - 2)
	if _, ok := rest[string(sent[1])]; ok {
		t.Fatalf("the deleted message came back")
	}
}

// TestDeadLettersOnDynamoDB: the dead-letter table keeps the format
// deployed tables hold, attribute for attribute; List reads it back,
// oldest first, and reads an item written by hand with missing or
// mistyped attributes as empty; Remove deletes; a dead letter put again
// replaces the one it had. memstore.DeadLetters, make run's, agrees.
func TestDeadLettersOnDynamoDB(t *testing.T) {
	srv := moto.Need(t)
	ctx := context.Background()
	db := srv.DynamoDB()
	table := motostack.New(t, srv, motostack.Options{Only: []string{"WebhookDeadLetterTable"}}).Names["WebhookDeadLetterTable"]
	dead := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	a := webhooks.DeadLetter{Notice: kyc.Notice{ID: "Webhook:a", PlatformID: "p", Type: "CUSTOMER.KYC_APPROVED",
		CreatedAt: time.UnixMilli(1764147600123).UTC(), Body: []byte(`{"id":"Webhook:a"}`)},
		Attempts: 12, LastError: "platform p answered 500", DeadAt: dead.Add(time.Minute)}
	b := webhooks.DeadLetter{Notice: kyc.Notice{ID: "unreadable:msg-1", CreatedAt: dead, Body: []byte("Message Body")},
		Attempts: 1, LastError: "webhooks: unreadable queue message", DeadAt: dead}
	inTable := &awsstore.DeadLetters{Client: db, Table: table}
	inMemory := &memstore.DeadLetters{}
	// store is what the worker and the redrive use of one.
	type store interface {
		webhooks.DeadLetters
		webhooks.Redriver
	}
	for _, s := range []store{inTable, inMemory} {
		for _, dl := range []webhooks.DeadLetter{a, b} {
			if err := s.Put(ctx, dl); err != nil {
				t.Fatal(err)
			}
		}
	}

	out, err := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(table), Key: map[string]types.AttributeValue{"id": S("Webhook:a")}})
	if err != nil {
		t.Fatal(err)
	}
	N := func(v string) types.AttributeValue { return &types.AttributeValueMemberN{Value: v} }
	deployed := map[string]types.AttributeValue{"id": S("Webhook:a"), "platformId": S("p"), "type": S("CUSTOMER.KYC_APPROVED"),
		"createdAtMs": N("1764147600123"), "body": S(`{"id":"Webhook:a"}`), "attempts": N("12"),
		"lastError": S("platform p answered 500"), "deadAt": S("2026-11-26T09:01:00Z")}
	if diff := cmp.Diff(dynamoJSON(deployed), dynamoJSON(out.Item)); diff != "" {
		t.Errorf("dead-letter item (-deployed +written):\n%s", diff)
	}

	for name, s := range map[string]store{"dynamodb": inTable, "memory": inMemory} {
		t.Run(name, func(t *testing.T) {
			got, err := s.List(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]webhooks.DeadLetter{b, a}, got); diff != "" {
				t.Errorf("List (-want +got):\n%s", diff)
			}
			again := a
			again.Attempts, again.DeadAt = 13, dead.Add(time.Hour)
			if err := s.Put(ctx, again); err != nil {
				t.Fatal(err)
			}
			if err := s.Remove(ctx, b.Notice.ID); err != nil {
				t.Fatal(err)
			}
			got, err = s.List(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]webhooks.DeadLetter{again}, got); diff != "" {
				t.Errorf("List after a put again and a remove (-want +got):\n%s", diff)
			}
		})
	}

	t.Run("hand-written item", func(t *testing.T) {
		if _, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(table), Item: map[string]types.AttributeValue{
			"id": S("Webhook:odd"), "platformId": N("7"), "attempts": S("three"), "deadAt": S("not a time")}}); err != nil {
			t.Fatal(err)
		}
		got, err := inTable.List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		i := slices.IndexFunc(got, func(dl webhooks.DeadLetter) bool { return dl.Notice.ID == "Webhook:odd" })
		if i != 0 {
			t.Fatalf("List = %+v; want Webhook:odd first (no time reads as the oldest)", got)
		}
		want := webhooks.DeadLetter{Notice: kyc.Notice{ID: "Webhook:odd", CreatedAt: time.UnixMilli(0).UTC(), Body: []byte{}}}
		if diff := cmp.Diff(want, got[i]); diff != "" {
			t.Errorf("hand-written item (-want +got):\n%s", diff)
		}
	})
}
