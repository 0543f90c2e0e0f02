package awsstore

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/grid-kyc/kyc-link/pkg/kyc"
	"github.com/grid-kyc/kyc-link/pkg/webhooks"
)

// DeadLettersAPI is the DynamoDB calls the dead-letter store makes.
type DeadLettersAPI interface {
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
	Scan(ctx context.Context, in *dynamodb.ScanInput, opts ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error)
}

// DeadLetters keeps webhooks' dead letters (webhooks.DeadLetters, and
// webhooks.Redriver for the redrive) in a table with partition key id (S,
// the webhook id); a dead letter put again replaces the one it had.
type DeadLetters struct {
	Client DeadLettersAPI
	Table  string
}

var (
	_ webhooks.DeadLetters = (*DeadLetters)(nil)
	_ webhooks.Redriver    = (*DeadLetters)(nil)
)

// Dead-letter item attributes: the notice's as in the outbox item, then
// the delivery's.
const (
	deadLetterKey       = "id"          // S
	deadLetterPlatform  = "platformId"  // S
	deadLetterType      = "type"        // S
	deadLetterCreatedAt = "createdAtMs" // N, ms since the epoch
	deadLetterBody      = "body"        // S
	deadLetterAttempts  = "attempts"    // N
	deadLetterLastError = "lastError"   // S
	deadLetterDeadAt    = "deadAt"      // S, RFC 3339, UTC, whole seconds
)

func (d *DeadLetters) Put(ctx context.Context, dl webhooks.DeadLetter) error {
	_, err := d.Client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(d.Table), Item: map[string]types.AttributeValue{
		deadLetterKey:       s(dl.Notice.ID),
		deadLetterPlatform:  s(dl.Notice.PlatformID),
		deadLetterType:      s(dl.Notice.Type),
		deadLetterCreatedAt: n(dl.Notice.CreatedAt.UnixMilli()),
		deadLetterBody:      s(string(dl.Notice.Body)),
		deadLetterAttempts:  n(int64(dl.Attempts)),
		deadLetterLastError: s(dl.LastError),
		deadLetterDeadAt:    s(dl.DeadAt.UTC().Format(time.RFC3339)),
	}})
	if err != nil {
		return fmt.Errorf("webhooks: store dead letter: %w", err)
	}
	return nil
}

// List returns every dead letter, oldest first (for inspection and
// redrive). An attribute missing or of another type reads as empty.
func (d *DeadLetters) List(ctx context.Context) ([]webhooks.DeadLetter, error) {
	var out []webhooks.DeadLetter
	var start map[string]types.AttributeValue
	for {
		page, err := d.Client.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String(d.Table), ExclusiveStartKey: start, ConsistentRead: aws.Bool(true)})
		if err != nil {
			return nil, err
		}
		for _, it := range page.Items {
			out = append(out, deadLetterFromItem(it))
		}
		if start = page.LastEvaluatedKey; len(start) == 0 {
			break
		}
	}
	slices.SortFunc(out, func(a, b webhooks.DeadLetter) int { return a.DeadAt.Compare(b.DeadAt) })
	return out, nil
}

func deadLetterFromItem(it map[string]types.AttributeValue) webhooks.DeadLetter {
	str := func(k string) string {
		if v, ok := it[k].(*types.AttributeValueMemberS); ok {
			return v.Value
		}
		return ""
	}
	num := func(k string) int64 {
		v, ok := it[k].(*types.AttributeValueMemberN)
		if !ok {
			return 0
		}
		i, _ := strconv.ParseInt(v.Value, 10, 64)
		return i
	}
	dead, _ := time.Parse(time.RFC3339, str(deadLetterDeadAt))
	return webhooks.DeadLetter{
		Notice: kyc.Notice{ID: str(deadLetterKey), PlatformID: str(deadLetterPlatform), Type: str(deadLetterType),
			CreatedAt: time.UnixMilli(num(deadLetterCreatedAt)).UTC(), Body: []byte(str(deadLetterBody))},
		Attempts: int(num(deadLetterAttempts)), LastError: str(deadLetterLastError), DeadAt: dead,
	}
}

// Remove deletes a dead letter once it was redriven.
func (d *DeadLetters) Remove(ctx context.Context, id string) error {
	_, err := d.Client.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(d.Table),
		Key: map[string]types.AttributeValue{deadLetterKey: s(id)}})
	return err
}
