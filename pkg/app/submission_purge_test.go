//go:build integration

package app_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// TestPurgeOnMoto: when a deleted customer's item is removed for good (its
// TTL), the customers stream's REMOVE reaches the relay, whose purge job
// goes through the submission queue to the submission function: every
// document the customer held goes, its records and its files, submitted
// ones too; another customer's stay. A removal of a customer not deleted
// (or of a marker) starts nothing.
func TestPurgeOnMoto(t *testing.T) {
	s := newSubStack(t)
	ctx := context.Background()
	gone, goneDocs, _ := s.verify(t, "purge-gone", licence("gone"))
	kept, keptDocs, _ := s.verify(t, "purge-kept", licence("kept"))
	if w := s.call(t, "DELETE", "/customers/"+gone, "", nil); w.Code != 200 {
		t.Fatalf("DELETE = %d %s", w.Code, w.Body)
	}
	db := dynamodb.NewFromConfig(awsConfig(t))
	table := s.env["CUSTOMERS_TABLE"]
	// What DynamoDB's TTL does 30 days on: the item removed, its old
	// image in the stream (as the event source hands it to the relay).
	remove := func(id string) {
		out, err := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(table), Key: map[string]types.AttributeValue{"id": &types.AttributeValueMemberS{Value: id}}})
		if err != nil || out.Item == nil {
			t.Fatalf("the customer item: %v", err)
		}
		if _, err := db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(table), Key: map[string]types.AttributeValue{"id": &types.AttributeValueMemberS{Value: id}}}); err != nil {
			t.Fatal(err)
		}
		old := map[string]events.DynamoDBAttributeValue{"id": events.NewStringAttribute(id),
			"platformId": events.NewStringAttribute(out.Item["platformId"].(*types.AttributeValueMemberS).Value)}
		if d, ok := out.Item["isDeleted"].(*types.AttributeValueMemberBOOL); ok {
			old["isDeleted"] = events.NewBooleanAttribute(d.Value)
		}
		payload, _ := json.Marshal(events.DynamoDBEvent{Records: []events.DynamoDBEventRecord{{EventName: "REMOVE",
			EventSourceArn: "arn:aws:dynamodb:us-east-1:123456789012:table/" + table + "/stream/2026-12-07T00:00:00.000",
			Change:         events.DynamoDBStreamRecord{OldImage: old}}}})
		if _, err := s.relay.Invoke(ctx, payload); err != nil {
			t.Fatalf("the relay: %v", err)
		}
	}
	remove(gone)
	files := func(doc string) int {
		out, err := s3.NewFromConfig(awsConfig(t), func(o *s3.Options) { o.UsePathStyle = true }).ListObjectsV2(ctx,
			&s3.ListObjectsV2Input{Bucket: aws.String(s.env["DOCUMENTS_BUCKET"]), Prefix: aws.String("documents/" + doc[len("Document:"):] + "/")})
		if err != nil {
			t.Fatal(err)
		}
		return len(out.Contents)
	}
	eventually(t, "the purged customer's documents gone", func() bool {
		for _, d := range goneDocs {
			if s.call(t, "GET", "/documents/"+d, "", nil).Code != 404 || files(d) != 0 {
				return false
			}
		}
		return true
	}, s.logs)
	// A customer not deleted: its removal (never made by this service)
	// starts no purge.
	remove(kept)
	s.drained(t)
	for _, d := range keptDocs {
		if w := s.call(t, "GET", "/documents/"+d, "", nil); w.Code != 200 || files(d) != 1 {
			t.Errorf("another customer's document %s: %d, %d files", d, w.Code, files(d))
		}
	}
}

// awsConfig is the SDK's configuration from the environment newSubStack
// points at moto.
func awsConfig(t *testing.T) aws.Config {
	t.Helper()
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}
