package awsstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/grid-kyc/kyc-link/pkg/kyc"
)

// ContactCodesAPI is the calls the contact codes store makes.
type ContactCodesAPI interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
}

// ContactCodes keeps contact verification's codes (kyc.ContactCodes) in a
// table with partition key pk (S: <customer id>#<channel>) and TTL on
// expiresAt (N, epoch seconds): an item goes when both its code and its
// send window have ended. Times are epoch milliseconds.
type ContactCodes struct {
	Client ContactCodesAPI
	Table  string
}

var _ kyc.ContactCodes = (*ContactCodes)(nil)

// Attribute names.
const (
	attrCodePK        = "pk"
	attrCodeMAC       = "codeMac"
	attrContactMAC    = "contactMac"
	attrCodeExpiresMs = "codeExpiresAtMs"
	attrAttempts      = "attempts"
	attrUsed          = "used"
	attrDelivered     = "delivered"
	attrSentAtMs      = "sentAtMs"
	attrWindowMs      = "windowStartMs"
	attrSends         = "sends"
	attrCodeTTL       = "expiresAt"
	// Each conditional write leaves its random token, so a write whose
	// answer was lost (the SDK sends it again, and the second try fails
	// the condition the first one changed) is recognised as done.
	attrPutToken   = "putToken"
	attrUseToken   = "useToken"
	attrGuessToken = "guessToken"
)

func (d *ContactCodes) key(customerID string, ch kyc.Channel) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{attrCodePK: s(customerID + "#" + string(ch))}
}

func (d *ContactCodes) outage(op string, err error) error {
	return fault(kyc.DepStore, "The service is temporarily unavailable.", fmt.Errorf("%s (table %s): %w", op, d.Table, err))
}

func (d *ContactCodes) ContactCode(ctx context.Context, customerID string, ch kyc.Channel) (kyc.ContactCode, bool, error) {
	out, err := d.Client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(d.Table), Key: d.key(customerID, ch), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return kyc.ContactCode{}, false, d.outage("read contact code", err)
	}
	if out.Item == nil {
		return kyc.ContactCode{}, false, nil
	}
	it := out.Item
	c := kyc.ContactCode{CustomerID: customerID, Channel: ch,
		ExpiresAt: ms(it, attrCodeExpiresMs), SentAt: ms(it, attrSentAtMs), WindowStart: ms(it, attrWindowMs),
		Attempts: int(num(it, attrAttempts)), Sends: int(num(it, attrSends)),
		Used: boolean(it, attrUsed), Delivered: boolean(it, attrDelivered)}
	if v, ok := it[attrCodeMAC].(*types.AttributeValueMemberB); ok {
		c.CodeMAC = v.Value
	}
	if v, ok := it[attrContactMAC].(*types.AttributeValueMemberB); ok {
		c.ContactMAC = v.Value
	}
	return c, true, nil
}

func (d *ContactCodes) PutContactCode(ctx context.Context, prevSentAt time.Time, c kyc.ContactCode) error {
	token := writeToken()
	item := d.key(c.CustomerID, c.Channel)
	item[attrCodeExpiresMs] = n(c.ExpiresAt.UnixMilli())
	item[attrSentAtMs] = n(c.SentAt.UnixMilli())
	item[attrWindowMs] = n(c.WindowStart.UnixMilli())
	item[attrSends] = n(int64(c.Sends))
	item[attrAttempts] = n(int64(c.Attempts))
	item[attrUsed] = &types.AttributeValueMemberBOOL{Value: c.Used}
	item[attrDelivered] = &types.AttributeValueMemberBOOL{Value: c.Delivered}
	item[attrPutToken] = s(token)
	if c.CodeMAC != nil {
		item[attrCodeMAC] = b(c.CodeMAC)
	}
	if c.ContactMAC != nil {
		item[attrContactMAC] = b(c.ContactMAC)
	}
	// The item lives as long as its code or its send window, whichever
	// ends last (TTL deletes within days; every reader checks the times).
	end := c.ExpiresAt
	if w := c.WindowStart.Add(kyc.SendWindow); w.After(end) {
		end = w
	}
	item[attrCodeTTL] = n(end.Unix() + 1)
	in := &dynamodb.PutItemInput{TableName: aws.String(d.Table), Item: item,
		ExpressionAttributeNames:            map[string]string{"#sent": attrSentAtMs},
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld}
	if prevSentAt.IsZero() {
		in.ConditionExpression = aws.String("attribute_not_exists(#sent)")
	} else {
		in.ConditionExpression = aws.String("#sent = :prev")
		in.ExpressionAttributeValues = map[string]types.AttributeValue{":prev": n(prevSentAt.UnixMilli())}
	}
	_, err := d.Client.PutItem(ctx, in)
	var ccf *types.ConditionalCheckFailedException
	switch {
	case errors.As(err, &ccf) && str(ccf.Item, attrPutToken) == token:
		return nil // our own write, landed; its answer was lost
	case errors.As(err, &ccf):
		return kyc.ErrChanged
	case err != nil:
		return d.outage("write contact code", err)
	}
	return nil
}

// update runs a conditional update of the code codeMAC: done false when
// the condition failed, unless the item carries this write's token
// (tokenAttr set to token by expr: its first try landed).
func (d *ContactCodes) update(ctx context.Context, op, customerID string, ch kyc.Channel, codeMAC []byte, expr, cond string,
	values map[string]types.AttributeValue, tokenAttr, token string) (bool, error) {
	if values == nil {
		values = map[string]types.AttributeValue{}
	}
	values[":mac"] = b(codeMAC)
	in := &dynamodb.UpdateItemInput{TableName: aws.String(d.Table), Key: d.key(customerID, ch),
		UpdateExpression: aws.String(expr), ConditionExpression: aws.String("#mac = :mac" + cond),
		ExpressionAttributeNames: names(expr + cond), ExpressionAttributeValues: values}
	if tokenAttr != "" {
		in.ReturnValuesOnConditionCheckFailure = types.ReturnValuesOnConditionCheckFailureAllOld
	}
	_, err := d.Client.UpdateItem(ctx, in)
	var ccf *types.ConditionalCheckFailedException
	switch {
	case errors.As(err, &ccf) && tokenAttr != "" && str(ccf.Item, tokenAttr) == token:
		return true, nil
	case errors.As(err, &ccf):
		return false, nil
	case err != nil:
		return false, d.outage(op, err)
	}
	return true, nil
}

func (d *ContactCodes) CountWrongCode(ctx context.Context, customerID string, ch kyc.Channel, codeMAC []byte, max int) (bool, error) {
	// A guess counts once: its token makes the SDK's second try fail
	// (and be recognised) instead of counting again.
	token := writeToken()
	return d.update(ctx, "count a wrong code", customerID, ch, codeMAC, "SET #att = #att + :one, #gt = :tok",
		" AND #att < :max AND (attribute_not_exists(#gt) OR #gt <> :tok)",
		map[string]types.AttributeValue{":one": n(1), ":max": n(int64(max)), ":tok": s(token)}, attrGuessToken, token)
}

func (d *ContactCodes) UseContactCode(ctx context.Context, customerID string, ch kyc.Channel, codeMAC []byte, max int) (bool, error) {
	token := writeToken()
	return d.update(ctx, "use a contact code", customerID, ch, codeMAC, "SET #used = :true, #ut = :tok",
		" AND #att < :max AND #used = :false AND #del = :true", map[string]types.AttributeValue{":max": n(int64(max)),
			":true": &types.AttributeValueMemberBOOL{Value: true}, ":false": &types.AttributeValueMemberBOOL{Value: false}, ":tok": s(token)},
		attrUseToken, token)
}

func (d *ContactCodes) UnuseContactCode(ctx context.Context, customerID string, ch kyc.Channel, codeMAC []byte) error {
	_, err := d.update(ctx, "restore a contact code", customerID, ch, codeMAC, "SET #used = :false", "",
		map[string]types.AttributeValue{":false": &types.AttributeValueMemberBOOL{Value: false}}, "", "")
	return err
}

func (d *ContactCodes) MarkCodeDelivered(ctx context.Context, customerID string, ch kyc.Channel, codeMAC []byte) error {
	_, err := d.update(ctx, "mark a contact code delivered", customerID, ch, codeMAC, "SET #del = :true", "",
		map[string]types.AttributeValue{":true": &types.AttributeValueMemberBOOL{Value: true}}, "", "")
	return err
}

// names are the attribute names an expression uses (DynamoDB refuses
// unused ones); #mac is in every condition.
func names(expr string) map[string]string {
	m := map[string]string{"#mac": attrCodeMAC}
	for k, v := range map[string]string{"#att": attrAttempts, "#used": attrUsed, "#del": attrDelivered,
		"#gt": attrGuessToken, "#ut": attrUseToken} {
		if strings.Contains(expr, k) {
			m[k] = v
		}
	}
	return m
}
