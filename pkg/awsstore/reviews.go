package awsstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/grid-kyc/kyc-link/pkg/kyc"
)

// The customers table also serves the link route (kyc.CustomerStore: one
// GetItem, all the link function's role may do on the table) and the
// reviews (kyc.ReviewStore: the status and its notice in one transaction
// over the customers and outbox tables).
var (
	_ kyc.CustomerStore = (*Customers)(nil)
	_ kyc.ReviewStore   = (*Customers)(nil)
)

// Attributes a review writes on the customer item.
const (
	attrLastReviewAt = "lastReviewAtMs"   // N, ms since the epoch: the provider time of the last review applied
	attrRejectType   = "reviewRejectType" // S, FINAL or RETRY, while REJECTED
	attrRejectLabels = "reviewRejectLabels"
)

// FindCustomer reads customer id with a consistent read (a customer
// created a moment ago must be found); a missing one is CustomerNotFound.
func (c *Customers) FindCustomer(ctx context.Context, id string) (kyc.Customer, error) {
	out, err := c.Client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(c.Table),
		Key: map[string]types.AttributeValue{attrID: s(id)}, ConsistentRead: aws.Bool(true)})
	if err != nil {
		return kyc.Customer{}, c.outage("get customer", err)
	}
	if out.Item == nil {
		return kyc.Customer{}, kyc.CustomerNotFound()
	}
	r := recordFromItem(out.Item)
	r.ID = id
	return r, nil
}

// warmUpID is a key no customer has (customer ids are validated to exclude
// spaces).
const warmUpID = "kyc-link warm-up"

// Warm opens a connection to DynamoDB before the first request needs it,
// with an eventually consistent read of a key no customer has (half a read
// unit).
func (c *Customers) Warm(ctx context.Context) error {
	_, err := c.Client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(c.Table),
		Key: map[string]types.AttributeValue{attrID: s(warmUpID)}})
	if err != nil {
		return fmt.Errorf("warm up customers table: %w", err)
	}
	return nil
}

// ApplyChange writes a review's status (conditioned on the status and the
// last review time read), when notice is not nil its notice to the outbox
// table, and when the change moves the customer's current verification
// that move (conditioned on the verification's status read) and its
// notice, in one transaction. The owners' moves (ch.Owners) go in the
// same update of the customer, each conditioned on its owner's review
// as read; with ch.Status empty they are all it writes (an owner's
// review), conditioned only on the customer existing.
func (c *Customers) ApplyChange(ctx context.Context, ch kyc.Change, notice *kyc.Notice) error {
	u := newClauses()
	u.names["#id"] = attrID
	u.conds = append(u.conds, "attribute_exists(#id)")
	ownerMoves(u, ch.Owners)
	if ch.Status == "" {
		// The customer's own data, its verification and its notices stay
		// (as the memory store does).
		return c.applyOwnerMoves(ctx, ch, u)
	}
	u.names["#f"], u.names["#at"], u.names["#up"] = statusAttr(ch.Type), attrLastReviewAt, attrUpdatedAt
	u.names["#rt"], u.names["#rl"] = attrRejectType, attrRejectLabels
	u.values[":status"], u.values[":was"] = s(string(ch.Status)), s(string(ch.WasStatus))
	u.values[":at"], u.values[":up"] = n(ch.ReviewAt.UnixMilli()), s(kyc.FormatTime(ch.UpdatedAt))
	u.conds = append(u.conds, "(attribute_not_exists(#f) OR #f = :was)")
	if ch.WasReviewAt.IsZero() {
		u.conds = append(u.conds, "attribute_not_exists(#at)")
	} else {
		u.conds = append(u.conds, "#at = :wasAt")
		u.values[":wasAt"] = n(ch.WasReviewAt.UnixMilli())
	}
	u.sets = append(u.sets, "#f = :status", "#at = :at", "#up = :up")
	if ch.Status == kyc.StatusRejected {
		u.sets = append(u.sets, "#rt = :rt", "#rl = :rl")
		u.values[":rt"], u.values[":rl"] = s(ch.RejectType), list(ch.RejectLabels)
	} else {
		u.removes = append(u.removes, "#rt", "#rl")
	}
	items := []types.TransactWriteItem{{Update: &types.Update{
		TableName: aws.String(c.Table), Key: map[string]types.AttributeValue{attrID: s(ch.CustomerID)},
		ConditionExpression: aws.String(u.condition()), UpdateExpression: aws.String(u.update()),
		ExpressionAttributeNames: u.names, ExpressionAttributeValues: u.values,
	}}}
	if notice != nil {
		// A notice id is never reused, so an existing item is never replaced.
		items = append(items, types.TransactWriteItem{Put: &types.Put{
			TableName:                aws.String(c.OutboxTable),
			Item:                     OutboxItem(*notice),
			ConditionExpression:      aws.String("attribute_not_exists(#id)"),
			ExpressionAttributeNames: map[string]string{"#id": OutboxKey},
		}})
	}
	if mv := ch.Verification; mv != nil {
		if c.VerificationsTable == "" {
			return kyc.Internal(fmt.Errorf("awsstore: a review moves verification %s, and the customer store has no verifications table", mv.ID))
		}
		items = append(items, verificationMove(c.VerificationsTable, c.OutboxTable, mv)...)
	}
	_, err := c.Client.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
	var canceled *types.TransactionCanceledException
	if errors.As(err, &canceled) {
		// A failed condition (the customer moved) or a conflicting
		// transaction on the same item: read again and decide again.
		return fmt.Errorf("%w: %v", kyc.ErrChanged, err)
	}
	if err != nil {
		return c.outage("apply review (outbox table "+c.OutboxTable+")", err)
	}
	return nil
}

// applyOwnerMoves writes an owner-only change: one UpdateItem of the
// owners' review attributes, conditioned on the customer existing and on
// each owner as read.
func (c *Customers) applyOwnerMoves(ctx context.Context, ch kyc.Change, u *clauses) error {
	if len(ch.Owners) == 0 {
		// Nothing to write: only whether the customer exists.
		if _, err := c.FindCustomer(ctx, ch.CustomerID); err != nil {
			if kyc.AsError(err).Code == kyc.CodeNotFound {
				return kyc.ErrChanged
			}
			return err
		}
		return nil
	}
	_, err := c.Client.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: aws.String(c.Table),
		Key:                 map[string]types.AttributeValue{attrID: s(ch.CustomerID)},
		ConditionExpression: aws.String(u.condition()), UpdateExpression: aws.String(u.update()),
		ExpressionAttributeNames: u.names, ExpressionAttributeValues: u.values})
	// A failed condition (the customer or the owner moved) or a
	// transaction in flight on the item: read again and decide again.
	var ccf *types.ConditionalCheckFailedException
	var conflict *types.TransactionConflictException
	if errors.As(err, &ccf) || errors.As(err, &conflict) {
		return fmt.Errorf("%w: %v", kyc.ErrChanged, err)
	}
	if err != nil {
		return c.outage("apply owner review", err)
	}
	return nil
}

// statusAttr is the customer attribute that holds the status a review of
// a customer of type t moves.
func statusAttr(t kyc.CustomerType) string {
	if t == kyc.Business {
		return attrKYBStatus
	}
	return attrKYCStatus
}
