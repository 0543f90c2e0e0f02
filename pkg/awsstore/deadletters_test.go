package awsstore_test

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/google/go-cmp/cmp"

	"github.com/grid-kyc/kyc-link/pkg/awsstore"
	"github.com/grid-kyc/kyc-link/pkg/kyc"
	"github.com/grid-kyc/kyc-link/pkg/webhooks"
)

// pagedScan answers each Scan with the next of its pages, each ending with
// the key the following one starts after, and fails PutItem with err.
type pagedScan struct {
	awsstore.DeadLettersAPI            // PutItem, DeleteItem: not called unless err
	pages                   [][]string // ids per page
	seen                    []*dynamodb.ScanInput
	err                     error
}

func (p *pagedScan) Scan(_ context.Context, in *dynamodb.ScanInput, _ ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error) {
	p.seen = append(p.seen, in)
	i := len(p.seen) - 1
	out := &dynamodb.ScanOutput{}
	for _, id := range p.pages[i] {
		out.Items = append(out.Items, map[string]types.AttributeValue{"id": &types.AttributeValueMemberS{Value: id}})
	}
	if i < len(p.pages)-1 {
		out.LastEvaluatedKey = out.Items[len(out.Items)-1]
	}
	return out, nil
}

func (p *pagedScan) PutItem(context.Context, *dynamodb.PutItemInput, ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	return nil, p.err
}

// TestDeadLettersListEveryPage: List reads the scan to its last page,
// each page after the key the previous one ended with, consistently.
func TestDeadLettersListEveryPage(t *testing.T) {
	c := &pagedScan{pages: [][]string{{"Webhook:1", "Webhook:2"}, {"Webhook:3"}, {"Webhook:4"}}}
	got, err := (&awsstore.DeadLetters{Client: c, Table: "dead"}).List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, dl := range got {
		ids = append(ids, dl.Notice.ID)
	}
	if diff := cmp.Diff([]string{"Webhook:1", "Webhook:2", "Webhook:3", "Webhook:4"}, ids); diff != "" {
		t.Errorf("listed (-want +got):\n%s", diff)
	}
	var starts []string
	for _, in := range c.seen {
		start := ""
		if k, ok := in.ExclusiveStartKey["id"].(*types.AttributeValueMemberS); ok {
			start = k.Value
		}
		starts = append(starts, start)
		if aws.ToString(in.TableName) != "dead" || !aws.ToBool(in.ConsistentRead) {
			t.Errorf("scan of %s, consistent %v; want a consistent scan of dead", aws.ToString(in.TableName), aws.ToBool(in.ConsistentRead))
		}
	}
	if diff := cmp.Diff([]string{"", "Webhook:2", "Webhook:3"}, starts); diff != "" {
		t.Errorf("pages started after (-want +got):\n%s", diff)
	}
}

// TestDeadLetterPutFailureSaysWhat: a failed put names what failed and
// keeps its cause (the worker logs it and keeps the message).
func TestDeadLetterPutFailureSaysWhat(t *testing.T) {
	cause := errors.New("throttled")
	err := (&awsstore.DeadLetters{Client: &pagedScan{err: cause}, Table: "dead"}).Put(context.Background(), webhooks.DeadLetter{Notice: kyc.Notice{ID: "Webhook:1"}})
	if !errors.Is(err, cause) || err.Error() != "webhooks: store dead letter: throttled" {
		t.Fatalf("Put = %v; want it wrapped as a dead-letter store failure", err)
	}
}
