package awsstore

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/grid-kyc/kyc-link/pkg/kyc"
)

// PlatformsAPI is the DynamoDB calls the platform store makes (IAM:
// GetItem, UpdateItem on the platforms table).
type PlatformsAPI interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
}

// Platforms keeps platform configuration in the platforms table, in the
// format webhook delivery reads (webhooks.PlatformsDynamoDB): partition key
// id (S, the platform id), webhookUrl (S); plus createdAt and updatedAt
// (S). Other attributes of the item (rateLimit, rateBurst) stay as they
// are.
type Platforms struct {
	Client PlatformsAPI
	Table  string
}

var _ kyc.PlatformStore = (*Platforms)(nil)

func (p *Platforms) outage(op string, err error) error {
	return Outage(kyc.DepStore, "The platform store is temporarily unavailable.",
		fmt.Errorf("%s (table %s): %w", op, p.Table, err))
}

func configFromItem(platformID string, item map[string]types.AttributeValue) kyc.PlatformConfig {
	str := func(k string) string {
		if v, ok := item[k].(*types.AttributeValueMemberS); ok {
			return v.Value
		}
		return ""
	}
	tm := func(k string) time.Time {
		t, _ := time.Parse(time.RFC3339Nano, str(k))
		return t.UTC()
	}
	c := kyc.PlatformConfig{PlatformID: platformID, WebhookEndpoint: str("webhookUrl")}
	if v := tm("createdAt"); !v.IsZero() && v.Year() > 1 {
		c.CreatedAt = v
	}
	if v := tm("updatedAt"); !v.IsZero() && v.Year() > 1 {
		c.UpdatedAt = v
	}
	return c
}

func (p *Platforms) PlatformConfig(ctx context.Context, platformID string) (kyc.PlatformConfig, error) {
	out, err := p.Client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(p.Table),
		Key: map[string]types.AttributeValue{"id": s(platformID)}, ConsistentRead: aws.Bool(true)})
	if err != nil {
		return kyc.PlatformConfig{}, p.outage("get platform "+platformID, err)
	}
	return configFromItem(platformID, out.Item), nil
}

func (p *Platforms) SetWebhookEndpoint(ctx context.Context, platformID, endpoint string, at time.Time) (kyc.PlatformConfig, error) {
	out, err := p.Client.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: aws.String(p.Table),
		Key:                       map[string]types.AttributeValue{"id": s(platformID)},
		UpdateExpression:          aws.String("SET #u = :u, #up = :at, #cr = if_not_exists(#cr, :at)"),
		ExpressionAttributeNames:  map[string]string{"#u": "webhookUrl", "#up": "updatedAt", "#cr": "createdAt"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":u": s(endpoint), ":at": s(kyc.FormatTime(at))},
		ReturnValues:              types.ReturnValueAllNew})
	if err != nil {
		return kyc.PlatformConfig{}, p.outage("set the webhook endpoint of platform "+platformID, err)
	}
	return configFromItem(platformID, out.Attributes), nil
}
