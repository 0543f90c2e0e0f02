package awsstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/grid-kyc/kyc-link/pkg/kyc"
	"github.com/grid-kyc/kyc-link/pkg/ratelimit"
	"github.com/grid-kyc/kyc-link/pkg/webhooks"
)

// PlatformsAPI is the DynamoDB calls the platform store makes (IAM, per
// function: GetItem and UpdateItem for /config, GetItem for delivery,
// GetItem for the link limits, one platform at a time).
type PlatformsAPI interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
}

// Platforms is the one store of the platforms table, for /config
// (kyc.PlatformStore), webhook delivery (webhooks.Platforms) and the link
// limits (ratelimit.PlatformLimits). Item: partition key id (S, the
// platform id), webhookUrl (S), createdAt and updatedAt (S), rateLimit (N)
// and rateBurst (N), each optional.
type Platforms struct {
	Client PlatformsAPI
	Table  string
}

// Platform item attributes.
const (
	attrWebhookURL = "webhookUrl"
	attrRateLimit  = "rateLimit"
	attrRateBurst  = "rateBurst"
)

var (
	_ kyc.PlatformStore        = (*Platforms)(nil)
	_ webhooks.Platforms       = (*Platforms)(nil)
	_ ratelimit.PlatformLimits = (*Platforms)(nil)
)

func (p *Platforms) outage(op string, err error) error {
	return fault(kyc.DepStore, "The platform store is temporarily unavailable.",
		fmt.Errorf("%s (table %s): %w", op, p.Table, err))
}

// PlatformItem is c's item in the platforms table, in the format every
// reader of the table reads (make dev seeds its platforms with it).
func PlatformItem(c kyc.PlatformConfig) map[string]types.AttributeValue {
	item := map[string]types.AttributeValue{attrID: s(c.PlatformID)}
	putIf(item, attrWebhookURL, c.WebhookEndpoint)
	if !c.CreatedAt.IsZero() {
		item[attrCreatedAt] = s(kyc.FormatTime(c.CreatedAt))
	}
	if !c.UpdatedAt.IsZero() {
		item[attrUpdatedAt] = s(kyc.FormatTime(c.UpdatedAt))
	}
	return item
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
	c := kyc.PlatformConfig{PlatformID: platformID, WebhookEndpoint: str(attrWebhookURL)}
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

// setEndpointCondition: the endpoint is not already the one set, or this
// very write set it (updatedAt is its own instant: the SDK re-sent a write
// whose answer it lost, which must still count as the change it made).
const setEndpointCondition = "attribute_not_exists(#u) OR #u <> :u OR #up = :at"

// SetWebhookEndpoint is one conditional UpdateItem: it writes only when
// the endpoint differs (setEndpointCondition) and answers the item as
// written (ALL_NEW) or, when the condition failed, as it is (the
// failure's ALL_OLD; an emulator that omits it costs a consistent read).
// So PATCH /config learns whether the endpoint changed from its write,
// without a read before it.
func (p *Platforms) SetWebhookEndpoint(ctx context.Context, platformID, endpoint string, at time.Time) (kyc.PlatformConfig, bool, error) {
	out, err := p.Client.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: aws.String(p.Table),
		Key:                                 map[string]types.AttributeValue{"id": s(platformID)},
		UpdateExpression:                    aws.String("SET #u = :u, #up = :at, #cr = if_not_exists(#cr, :at)"),
		ConditionExpression:                 aws.String(setEndpointCondition),
		ExpressionAttributeNames:            map[string]string{"#u": attrWebhookURL, "#up": attrUpdatedAt, "#cr": attrCreatedAt},
		ExpressionAttributeValues:           map[string]types.AttributeValue{":u": s(endpoint), ":at": s(kyc.FormatTime(at))},
		ReturnValues:                        types.ReturnValueAllNew,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld})
	var ccf *types.ConditionalCheckFailedException
	switch {
	case errors.As(err, &ccf) && len(ccf.Item) > 0:
		return configFromItem(platformID, ccf.Item), false, nil
	case errors.As(err, &ccf):
		c, err := p.PlatformConfig(ctx, platformID)
		return c, false, err
	case err != nil:
		return kyc.PlatformConfig{}, false, p.outage("set the webhook endpoint of platform "+platformID, err)
	}
	return configFromItem(platformID, out.Attributes), true, nil
}

// item reads platformID's item (eventually consistent: delivery and the
// limits tolerate a change arriving a moment late).
func (p *Platforms) item(ctx context.Context, platformID string) (map[string]types.AttributeValue, error) {
	out, err := p.Client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(p.Table),
		Key: map[string]types.AttributeValue{attrID: s(platformID)}})
	if err != nil {
		return nil, err
	}
	return out.Item, nil
}

// WebhookURL is where platformID receives webhooks; "" when it has none.
func (p *Platforms) WebhookURL(ctx context.Context, platformID string) (string, error) {
	item, err := p.item(ctx, platformID)
	if err != nil {
		return "", err
	}
	return configFromItem(platformID, item).WebhookEndpoint, nil
}

// PlatformLimit is platformID's own link limit (zero fields: not set).
func (p *Platforms) PlatformLimit(ctx context.Context, platformID string) (ratelimit.Limit, error) {
	item, err := p.item(ctx, platformID)
	if err != nil {
		return ratelimit.Limit{}, err
	}
	return limitFromItem(item), nil
}
