package customers

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/grid-kyc/kyc-link/pkg/awsstore"
	"github.com/grid-kyc/kyc-link/pkg/kyc"
	"github.com/grid-kyc/kyc-link/pkg/webhooks"
)

// Attributes a review writes on the customer item.
const (
	attrLastReviewAt = "lastReviewAtMs"   // N, ms since the epoch: the provider time of the last review applied
	attrRejectType   = "reviewRejectType" // S, FINAL or RETRY, while REJECTED
	attrRejectLabels = "reviewRejectLabels"
	attrUpdatedAt    = "updatedAt"
)

// TransactAPI is the write a review makes: the customer and its notice in
// one transaction.
type TransactAPI interface {
	GetItemAPI
	TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, opts ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error)
}

// ReviewDynamoDB applies reviews to the customers table and records their
// notices in the outbox table, whose stream feeds delivery.
type ReviewDynamoDB struct {
	Client      TransactAPI
	Table       string
	OutboxTable string
}

var _ kyc.ReviewStore = (*ReviewDynamoDB)(nil)

func (d *ReviewDynamoDB) ReviewState(ctx context.Context, id string) (kyc.Customer, error) {
	return (&DynamoDB{Client: d.Client, Table: d.Table}).FindCustomer(ctx, id)
}

func (d *ReviewDynamoDB) ApplyChange(ctx context.Context, ch kyc.Change, notice *kyc.Notice) error {
	names := map[string]string{"#id": "id", "#f": statusAttr(ch.Type), "#at": attrLastReviewAt, "#up": attrUpdatedAt,
		"#rt": attrRejectType, "#rl": attrRejectLabels}
	values := map[string]types.AttributeValue{
		":status": s(string(ch.Status)), ":was": s(string(ch.WasStatus)),
		":at": n(ch.ReviewAt.UnixMilli()), ":up": s(formatTime(ch.UpdatedAt)),
	}
	cond := "attribute_exists(#id) AND (attribute_not_exists(#f) OR #f = :was) AND "
	if ch.WasReviewAt.IsZero() {
		cond += "attribute_not_exists(#at)"
	} else {
		cond += "#at = :wasAt"
		values[":wasAt"] = n(ch.WasReviewAt.UnixMilli())
	}
	update := "SET #f = :status, #at = :at, #up = :up"
	if ch.Status == kyc.StatusRejected {
		update += ", #rt = :rt, #rl = :rl"
		values[":rt"] = s(ch.RejectType)
		labels := make([]types.AttributeValue, len(ch.RejectLabels))
		for i, l := range ch.RejectLabels {
			labels[i] = s(l)
		}
		values[":rl"] = &types.AttributeValueMemberL{Value: labels}
	} else {
		update += " REMOVE #rt, #rl"
	}
	items := []types.TransactWriteItem{{Update: &types.Update{
		TableName: aws.String(d.Table), Key: map[string]types.AttributeValue{"id": s(ch.CustomerID)},
		ConditionExpression: aws.String(cond), UpdateExpression: aws.String(update),
		ExpressionAttributeNames: names, ExpressionAttributeValues: values,
	}}}
	if notice != nil {
		// The outbox item is webhooks' format (see pkg/webhooks/outbox.go);
		// a notice id is never reused, so an existing item is never replaced.
		items = append(items, types.TransactWriteItem{Put: &types.Put{
			TableName:                aws.String(d.OutboxTable),
			Item:                     webhooks.OutboxItem(*notice),
			ConditionExpression:      aws.String("attribute_not_exists(#id)"),
			ExpressionAttributeNames: map[string]string{"#id": webhooks.OutboxKey},
		}})
	}
	_, err := d.Client.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
	var canceled *types.TransactionCanceledException
	if errors.As(err, &canceled) {
		// A failed condition (the customer moved) or a conflicting
		// transaction on the same item: read again and decide again.
		return fmt.Errorf("%w: %v", kyc.ErrChanged, err)
	}
	if err != nil {
		return awsstore.Outage(kyc.DepStore, "The customer store is temporarily unavailable.", fmt.Errorf("apply review to tables %s and %s: %w", d.Table, d.OutboxTable, err))
	}
	return nil
}

func s(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
func n(v int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(v, 10)}
}

// formatTime is how the service writes timestamps: RFC 3339, UTC,
// milliseconds.
func formatTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z07:00") }

// RejectionFromItem reads the reject type and labels kept on a customer.
func RejectionFromItem(item map[string]types.AttributeValue) Rejection {
	var r Rejection
	if v, ok := item[attrRejectType].(*types.AttributeValueMemberS); ok {
		r.Type = v.Value
	}
	if l, ok := item[attrRejectLabels].(*types.AttributeValueMemberL); ok {
		for _, v := range l.Value {
			if s, ok := v.(*types.AttributeValueMemberS); ok {
				r.Labels = append(r.Labels, s.Value)
			}
		}
	}
	return r
}

// statusAttr is the customer attribute that holds the status a review of
// a customer of type t moves.
func statusAttr(t kyc.CustomerType) string {
	if t == kyc.Business {
		return "kybStatus"
	}
	return "kycStatus"
}
