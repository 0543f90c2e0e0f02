package awsstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/grid-kyc/kyc-link/pkg/idempotency"
	"github.com/grid-kyc/kyc-link/pkg/kyc"
)

// IdempotencyAPI is the calls the idempotency store makes: item reads and
// writes on one table, nothing else.
type IdempotencyAPI interface {
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
}

// unavailable is what a caller is told when the idempotency table fails.
const idempotencyUnavailable = "The service is temporarily unavailable."

// Idempotency keeps the idempotency guard's records (idempotency.Store)
// in a table with partition key pk (S) and TTL on expiresAt (N, epoch
// seconds).
type Idempotency struct {
	Client IdempotencyAPI
	Table  string
}

var _ idempotency.Store = (*Idempotency)(nil)

// Attribute names.
const (
	attrIdemPK      = "pk"
	attrFingerprint = "fingerprint"
	attrStatus      = "status"
	attrLockToken   = "lockToken"
	attrLockExpires = "lockExpiresAtMs"
	attrExpires     = "expiresAt"
	attrRespStatus  = "responseStatus"
	attrRespHeader  = "responseHeaders"
	attrRespBody    = "responseBody"
	attrIntent      = "intent"
)

func (d *Idempotency) key(k string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{attrIdemPK: s(k)}
}

// acquireCondition: no record, or it expired (checked here because TTL
// deletes late). An in-progress record whose lock expired is taken over
// (TakeOver), never overwritten: its intent must survive.
const acquireCondition = "attribute_not_exists(#pk) OR #exp < :now"

func (d *Idempotency) Acquire(ctx context.Context, rec idempotency.Record, now time.Time) (*idempotency.Record, error) {
	item := d.item(rec)
	// If the record that blocked us vanishes before we read it, try again;
	// twice more is plenty, as each pass means another request finished.
	for range 3 {
		_, err := d.Client.PutItem(ctx, &dynamodb.PutItemInput{
			TableName:                 aws.String(d.Table),
			Item:                      item,
			ConditionExpression:       aws.String(acquireCondition),
			ExpressionAttributeNames:  map[string]string{"#pk": attrIdemPK, "#exp": attrExpires},
			ExpressionAttributeValues: map[string]types.AttributeValue{":now": n(now.Unix())},
			// One round trip on a duplicate: the blocking record comes back
			// with the failure.
			ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
		})
		if err == nil {
			return nil, nil
		}
		var ccf *types.ConditionalCheckFailedException
		if !errors.As(err, &ccf) {
			return nil, fault(kyc.DepStore, idempotencyUnavailable, fmt.Errorf("idempotency: acquire: %w", err))
		}
		existing, err := d.blocking(ctx, rec.Key, ccf)
		if err != nil {
			return nil, err
		}
		if existing != nil && existing.LockToken == rec.LockToken {
			// Our own write: the SDK re-sent a PutItem whose first attempt
			// succeeded but whose answer was lost.
			return nil, nil
		}
		if existing != nil {
			return existing, nil
		}
	}
	return nil, fmt.Errorf("idempotency: acquire: key %s keeps changing hands", rec.Key)
}

// takeOverCondition: in progress, held by the token taken from, its lock
// expired, the record itself not.
const takeOverCondition = "#token = :from AND #status = :inprogress AND #lock < :nowms AND #exp >= :now"

func (d *Idempotency) TakeOver(ctx context.Context, rec idempotency.Record, fromToken string, now time.Time) (bool, error) {
	_, err := d.Client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:           aws.String(d.Table),
		Key:                 d.key(rec.Key),
		ConditionExpression: aws.String(takeOverCondition),
		UpdateExpression:    aws.String("SET #token = :token, #lock = :lock, #exp = :exp"),
		ExpressionAttributeNames: map[string]string{
			"#token": attrLockToken, "#status": attrStatus, "#lock": attrLockExpires, "#exp": attrExpires,
		},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":from": s(fromToken), ":token": s(rec.LockToken), ":inprogress": s(string(idempotency.InProgress)),
			":nowms": n(now.UnixMilli()), ":now": n(now.Unix()), ":lock": n(rec.LockExpiresAt.UnixMilli()),
			":exp": n(rec.ExpiresAt.Unix()),
		},
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	if err == nil {
		return true, nil
	}
	var ccf *types.ConditionalCheckFailedException
	if !errors.As(err, &ccf) {
		return false, fault(kyc.DepStore, idempotencyUnavailable, fmt.Errorf("idempotency: take over: %w", err))
	}
	existing, err := d.blocking(ctx, rec.Key, ccf)
	if err != nil {
		return false, err
	}
	// Taken by this very write already: the SDK re-sent it after losing
	// the answer.
	return existing != nil && existing.LockToken == rec.LockToken && existing.Status == idempotency.InProgress, nil
}

// blocking returns the record that failed a condition: the one the
// failure carries (ALL_OLD), or, from emulators that omit it, a fresh read.
// nil means there is none.
func (d *Idempotency) blocking(ctx context.Context, key string, ccf *types.ConditionalCheckFailedException) (*idempotency.Record, error) {
	if len(ccf.Item) > 0 {
		return idempotencyRecord(ccf.Item)
	}
	return d.Get(ctx, key)
}

func (d *Idempotency) Get(ctx context.Context, key string) (*idempotency.Record, error) {
	out, err := d.Client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(d.Table), Key: d.key(key), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return nil, fault(kyc.DepStore, idempotencyUnavailable, fmt.Errorf("idempotency: get: %w", err))
	}
	if len(out.Item) == 0 {
		return nil, nil
	}
	return idempotencyRecord(out.Item)
}

// ownerCondition makes Complete and Release touch only a record this
// request still holds.
const ownerCondition = "#token = :token AND #status = :inprogress"

func (d *Idempotency) Complete(ctx context.Context, key, lockToken string, resp idempotency.Response) error {
	headers, err := json.Marshal(resp.Header)
	if err != nil {
		return fault(kyc.DepStore, idempotencyUnavailable, fmt.Errorf("idempotency: complete: %w", err))
	}
	body := resp.Body
	if body == nil {
		body = []byte{} // DynamoDB refuses a null binary
	}
	update := "SET #status = :completed, #rs = :rs, #rh = :rh, #rb = :rb"
	names := map[string]string{
		"#token": attrLockToken, "#status": attrStatus, "#rs": attrRespStatus, "#rh": attrRespHeader, "#rb": attrRespBody,
	}
	values := map[string]types.AttributeValue{
		":token": s(lockToken), ":inprogress": s(string(idempotency.InProgress)), ":completed": s(string(idempotency.Completed)),
		":rs": n(int64(resp.Status)), ":rh": s(string(headers)), ":rb": &types.AttributeValueMemberB{Value: body},
	}
	if !resp.ExpiresAt.IsZero() {
		update += ", #exp = :exp"
		names["#exp"], values[":exp"] = attrExpires, n(resp.ExpiresAt.Unix())
	}
	_, err = d.Client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                           aws.String(d.Table),
		Key:                                 d.key(key),
		ConditionExpression:                 aws.String(ownerCondition),
		UpdateExpression:                    aws.String(update),
		ExpressionAttributeNames:            names,
		ExpressionAttributeValues:           values,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	return d.ownerErr(ctx, "complete", key, err, func(r *idempotency.Record) bool {
		// Already completed by this token: a retried write whose first
		// attempt succeeded.
		return r != nil && r.Status == idempotency.Completed && r.LockToken == lockToken
	})
}

func (d *Idempotency) Release(ctx context.Context, key, lockToken string) error {
	_, err := d.Client.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName:                           aws.String(d.Table),
		Key:                                 d.key(key),
		ConditionExpression:                 aws.String(ownerCondition),
		ExpressionAttributeNames:            map[string]string{"#token": attrLockToken, "#status": attrStatus},
		ExpressionAttributeValues:           map[string]types.AttributeValue{":token": s(lockToken), ":inprogress": s(string(idempotency.InProgress))},
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	// Gone already: the key is free, which is all Release promises (a
	// retried DeleteItem whose first attempt succeeded lands here).
	return d.ownerErr(ctx, "release", key, err, func(r *idempotency.Record) bool { return r == nil })
}

func (d *Idempotency) Abandon(ctx context.Context, key, lockToken string) error {
	_, err := d.Client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                           aws.String(d.Table),
		Key:                                 d.key(key),
		ConditionExpression:                 aws.String(ownerCondition),
		UpdateExpression:                    aws.String("SET #lock = :zero"),
		ExpressionAttributeNames:            map[string]string{"#token": attrLockToken, "#status": attrStatus, "#lock": attrLockExpires},
		ExpressionAttributeValues:           map[string]types.AttributeValue{":token": s(lockToken), ":inprogress": s(string(idempotency.InProgress)), ":zero": n(0)},
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	// The owner condition never fails on this token's own re-sent write
	// (the record stays in progress under it), so there is nothing else
	// to recognise.
	return d.ownerErr(ctx, "abandon", key, err, func(*idempotency.Record) bool { return false })
}

// Put writes rec unconditionally, for tests that need a record in a given
// state.
func (d *Idempotency) Put(ctx context.Context, rec idempotency.Record) error {
	_, err := d.Client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(d.Table), Item: d.item(rec)})
	return err
}

// ownerErr turns a failed owner condition into idempotency.ErrNotOwner, unless done
// says the record is already in the state the write was meant to leave.
func (d *Idempotency) ownerErr(ctx context.Context, op, key string, err error, done func(*idempotency.Record) bool) error {
	if err == nil {
		return nil
	}
	var ccf *types.ConditionalCheckFailedException
	if !errors.As(err, &ccf) {
		return fault(kyc.DepStore, idempotencyUnavailable, fmt.Errorf("idempotency: %s: %w", op, err))
	}
	rec, err := d.blocking(ctx, key, ccf)
	if err != nil {
		return fault(kyc.DepStore, idempotencyUnavailable, fmt.Errorf("idempotency: %s: %w", op, err))
	}
	if done(rec) {
		return nil
	}
	return idempotency.ErrNotOwner
}

func (d *Idempotency) item(rec idempotency.Record) map[string]types.AttributeValue {
	item := map[string]types.AttributeValue{
		attrIdemPK:      s(rec.Key),
		attrFingerprint: s(rec.Fingerprint),
		attrStatus:      s(string(rec.Status)),
		attrLockToken:   s(rec.LockToken),
		attrLockExpires: n(rec.LockExpiresAt.UnixMilli()),
		attrExpires:     n(rec.ExpiresAt.Unix()),
	}
	if rec.Intent != "" {
		item[attrIntent] = s(rec.Intent)
	}
	if r := rec.Response; r != nil {
		headers, _ := json.Marshal(r.Header)
		item[attrRespStatus] = n(int64(r.Status))
		item[attrRespHeader] = s(string(headers))
		item[attrRespBody] = &types.AttributeValueMemberB{Value: append([]byte{}, r.Body...)}
	}
	return item
}

func idempotencyRecord(item map[string]types.AttributeValue) (*idempotency.Record, error) {
	str := func(name string) string {
		v, _ := item[name].(*types.AttributeValueMemberS)
		if v == nil {
			return ""
		}
		return v.Value
	}
	num := func(name string) int64 {
		v, _ := item[name].(*types.AttributeValueMemberN)
		if v == nil {
			return 0
		}
		x, _ := strconv.ParseInt(v.Value, 10, 64)
		return x
	}
	rec := &idempotency.Record{
		Key:           str(attrIdemPK),
		Fingerprint:   str(attrFingerprint),
		Status:        idempotency.Status(str(attrStatus)),
		LockToken:     str(attrLockToken),
		LockExpiresAt: time.UnixMilli(num(attrLockExpires)),
		ExpiresAt:     time.Unix(num(attrExpires), 0),
		Intent:        str(attrIntent),
	}
	if rec.Status == idempotency.Completed {
		resp := &idempotency.Response{Status: int(num(attrRespStatus)), Header: http.Header{}}
		if h := str(attrRespHeader); h != "" {
			if err := json.Unmarshal([]byte(h), &resp.Header); err != nil {
				return nil, kyc.Misconfigured(kyc.DepStore, fmt.Errorf("idempotency: record %s has unreadable headers: %w", rec.Key, err))
			}
		}
		if b, ok := item[attrRespBody].(*types.AttributeValueMemberB); ok {
			resp.Body = b.Value
		}
		rec.Response = resp
	}
	return rec, nil
}
