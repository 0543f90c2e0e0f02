package awsstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/grid-kyc/kyc-link/pkg/ratelimit"
)

// RateCountersAPI is the one call the link counters make (IAM: UpdateItem
// on the rate-limit table).
type RateCountersAPI interface {
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
}

// RateCounters counts links per window (ratelimit.Counter) in a table
// with partition key pk (S), attribute n (N), and TTL on expiresAt (N).
type RateCounters struct {
	Client RateCountersAPI
	Table  string
}

var _ ratelimit.Counter = (*RateCounters)(nil)

func (d *RateCounters) Take(ctx context.Context, key string, limit int, expires time.Time) (bool, error) {
	_, err := d.Client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                aws.String(d.Table),
		Key:                      map[string]types.AttributeValue{"pk": s(key)},
		UpdateExpression:         aws.String("ADD #n :one SET #exp = :exp"),
		ConditionExpression:      aws.String("attribute_not_exists(#n) OR #n < :limit"),
		ExpressionAttributeNames: map[string]string{"#n": "n", "#exp": "expiresAt"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":one": n(1), ":limit": n(int64(limit)), ":exp": n(expires.Unix()),
		},
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("ratelimit: %w", err)
	}
	return true, nil
}

func (d *RateCounters) Give(ctx context.Context, key string) error {
	_, err := d.Client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(d.Table),
		Key:                       map[string]types.AttributeValue{"pk": s(key)},
		UpdateExpression:          aws.String("ADD #n :minus"),
		ConditionExpression:       aws.String("#n > :zero"),
		ExpressionAttributeNames:  map[string]string{"#n": "n"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":minus": n(-1), ":zero": n(0)},
	})
	return err
}

// limitFromItem reads a platform item's own link limit (rateLimit,
// rateBurst: N); a field absent or not positive is zero (not set).
func limitFromItem(item map[string]types.AttributeValue) ratelimit.Limit {
	var l ratelimit.Limit
	if v, ok := item[attrRateLimit].(*types.AttributeValueMemberN); ok {
		if r, err := strconv.ParseFloat(v.Value, 64); err == nil && r > 0 {
			l.Rate = r
		}
	}
	if v, ok := item[attrRateBurst].(*types.AttributeValueMemberN); ok {
		if b, err := strconv.Atoi(v.Value); err == nil && b > 0 {
			l.Burst = b
		}
	}
	return l
}
