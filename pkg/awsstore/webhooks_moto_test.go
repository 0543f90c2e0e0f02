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
