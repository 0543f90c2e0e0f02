package webhooks

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/grid-kyc/kyc-link/pkg/kyc"
)

// ItemAPI is the DynamoDB item calls the stores make.
type ItemAPI interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
	Scan(ctx context.Context, in *dynamodb.ScanInput, opts ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error)
}

// DeadLettersDynamoDB keeps dead letters in a table with partition key id
// (S, the webhook id).
type DeadLettersDynamoDB struct {
	Client ItemAPI
	Table  string
}

var _ DeadLetters = (*DeadLettersDynamoDB)(nil)

func (d *DeadLettersDynamoDB) Put(ctx context.Context, dl DeadLetter) error {
	_, err := d.Client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(d.Table), Item: map[string]types.AttributeValue{
		"id":          &types.AttributeValueMemberS{Value: dl.Notice.ID},
		"platformId":  &types.AttributeValueMemberS{Value: dl.Notice.PlatformID},
		"type":        &types.AttributeValueMemberS{Value: dl.Notice.Type},
		"createdAtMs": &types.AttributeValueMemberN{Value: strconv.FormatInt(dl.Notice.CreatedAt.UnixMilli(), 10)},
		"body":        &types.AttributeValueMemberS{Value: string(dl.Notice.Body)},
		"attempts":    &types.AttributeValueMemberN{Value: strconv.Itoa(dl.Attempts)},
		"lastError":   &types.AttributeValueMemberS{Value: dl.LastError},
		"deadAt":      &types.AttributeValueMemberS{Value: dl.DeadAt.UTC().Format(time.RFC3339)},
	}})
	if err != nil {
		return fmt.Errorf("webhooks: store dead letter: %w", err)
	}
	return nil
}

// List returns every dead letter (for inspection and redrive).
func (d *DeadLettersDynamoDB) List(ctx context.Context) ([]DeadLetter, error) {
	var out []DeadLetter
	var start map[string]types.AttributeValue
	for {
		page, err := d.Client.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String(d.Table), ExclusiveStartKey: start, ConsistentRead: aws.Bool(true)})
		if err != nil {
			return nil, err
		}
		for _, it := range page.Items {
			str := func(k string) string { v, _ := it[k].(*types.AttributeValueMemberS); return valueOr(v) }
			num := func(k string) int64 {
				v, _ := it[k].(*types.AttributeValueMemberN)
				if v == nil {
					return 0
				}
				n, _ := strconv.ParseInt(v.Value, 10, 64)
				return n
			}
			dead, _ := time.Parse(time.RFC3339, str("deadAt"))
			out = append(out, DeadLetter{
				Notice:   kyc.Notice{ID: str("id"), PlatformID: str("platformId"), Type: str("type"), CreatedAt: time.UnixMilli(num("createdAtMs")).UTC(), Body: []byte(str("body"))},
				Attempts: int(num("attempts")), LastError: str("lastError"), DeadAt: dead,
			})
		}
		if start = page.LastEvaluatedKey; len(start) == 0 {
			break
		}
	}
	slices.SortFunc(out, func(a, b DeadLetter) int { return a.DeadAt.Compare(b.DeadAt) })
	return out, nil
}

// Remove deletes a dead letter once it was redriven.
func (d *DeadLettersDynamoDB) Remove(ctx context.Context, id string) error {
	_, err := d.Client.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(d.Table),
		Key: map[string]types.AttributeValue{"id": &types.AttributeValueMemberS{Value: id}}})
	return err
}

func valueOr(v *types.AttributeValueMemberS) string {
	if v == nil {
		return ""
	}
	return v.Value
}

// DeadLettersMemory keeps dead letters in memory (local mode, tests).
type DeadLettersMemory struct {
	mu      sync.Mutex
	letters []DeadLetter
}

func (d *DeadLettersMemory) Put(_ context.Context, dl DeadLetter) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.letters = append(d.letters, dl)
	return nil
}

// Redriver lists and removes dead letters.
type Redriver interface {
	List(ctx context.Context) ([]DeadLetter, error)
	Remove(ctx context.Context, id string) error
}

// Redrive queues every dead letter again with the same id and body and a
// fresh retry window, and removes it from the store once queued. It
// returns how many it queued. The dead letters of unreadable queue
// messages (ids starting with UnreadablePrefix) stay where they are: they
// hold no notice to deliver, only what an operator must look at.
func Redrive(ctx context.Context, store Redriver, relay *Relay, now time.Time) (int, error) {
	letters, err := store.List(ctx)
	if err != nil {
		return 0, err
	}
	queued := 0
	for _, dl := range letters {
		n := dl.Notice
		if strings.HasPrefix(n.ID, UnreadablePrefix) {
			continue
		}
		n.CreatedAt = now
		if err := relay.Send(ctx, []kyc.Notice{n}); err != nil {
			return queued, err
		}
		queued++
		if err := store.Remove(ctx, n.ID); err != nil {
			return queued, err
		}
	}
	return queued, nil
}
