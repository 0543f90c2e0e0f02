package awsstore

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/grid-kyc/kyc-link/pkg/kyc"
)

// CustomersAPI is the DynamoDB calls the customer store makes (IAM:
// GetItem, Query on the index, UpdateItem, TransactWriteItems with Put,
// Update and Delete on the table; owners: a Put of the pointer item in
// InsertOwner's transaction, GetItem of it in OwnerCustomerID).
type CustomersAPI interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	Query(ctx context.Context, in *dynamodb.QueryInput, opts ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, opts ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error)
}

// DefaultCustomersByPlatformIndex is the by-platform index's name
// (CUSTOMERS_BY_PLATFORM_INDEX).
const DefaultCustomersByPlatformIndex = "byPlatform"

// Customers keeps the platform API's customers in the customers table
// (partition key id, S) and lists them through a global secondary index
// (Index) with partition key platformId (S) and sort key createdKey (S),
// projecting all attributes.
type Customers struct {
	Client CustomersAPI
	Table  string
	Index  string
	// OutboxTable receives the notice of a review's change, in the same
	// transaction (the reviews' writes only).
	OutboxTable string
	// VerificationsTable holds the verification a review moves with the
	// customer's status, in the same transaction (the reviews' writes
	// only; kyc.Change.Verification).
	VerificationsTable string
	// Backoff is the first wait before retrying a transaction DynamoDB
	// cancelled for a conflicting transaction (doubling; 10 ms when zero).
	Backoff time.Duration
}

var _ kyc.CustomerRecords = (*Customers)(nil)

// transactAttempts bounds the retries of a transaction cancelled by a
// conflicting one (DynamoDB's TransactionConflict: another transaction on
// the same item was in flight; retrying decides it).
const transactAttempts = 5

func (c *Customers) outage(op string, err error) error {
	return fault(kyc.DepStore, "The customer store is temporarily unavailable.",
		fmt.Errorf("%s (table %s): %w", op, c.Table, err))
}

func (c *Customers) wait(ctx context.Context, attempt int) error {
	d := c.Backoff
	if d == 0 {
		d = 10 * time.Millisecond
	}
	t := time.NewTimer(d << attempt)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// reasons returns the cancellation reason codes of a cancelled
// transaction ("" where none was given), and the items of failed
// conditions.
func reasons(err error) (codes []string, items []map[string]types.AttributeValue, ok bool) {
	var tce *types.TransactionCanceledException
	if !errors.As(err, &tce) {
		return nil, nil, false
	}
	for _, r := range tce.CancellationReasons {
		codes = append(codes, aws.ToString(r.Code))
		items = append(items, r.Item)
	}
	return codes, items, true
}

func codeAt(codes []string, i int) string {
	if i < len(codes) {
		return codes[i]
	}
	return ""
}

// requestToken makes a transaction idempotent for DynamoDB (for 10
// minutes): the SDK's re-send of a transaction whose answer was lost then
// succeeds instead of failing its own conditions. It is random, never
// derived from the request: two writers (or a retry, with another
// createdAt, of a create whose answer was lost) must not share one, or
// DynamoDB takes the second for a re-send of the first, or refuses it as
// IdempotentParameterMismatch. Each attempt of ours has its own (a retried
// cancelled transaction must run again).
func requestToken() *string { return aws.String(rand.Text()) }

// writeToken is a value unique to one write (rand.Text: 128 random bits),
// stored with it in attrWriteToken. A failed version condition is this
// write's own landed attempt (the SDK re-sent it after losing its answer)
// only when the item carries this token: version and updatedAt cannot
// tell, as two writers that read one version within one millisecond write
// the same pair.
func writeToken() string { return rand.Text() }

// InsertCustomer writes the customer and its platformCustomerId marker in
// one transaction, each conditioned on not existing: DynamoDB lets one of
// concurrent inserts with the same platformCustomerId win.
func (c *Customers) InsertCustomer(ctx context.Context, r kyc.Customer) error {
	if strings.Contains(r.PlatformID, "#") {
		return kyc.Internal(fmt.Errorf("awsstore: platform id %q contains '#'", r.PlatformID))
	}
	mid := markerID(r.PlatformID, r.PlatformCustomerID)
	// The insert's own token: the SDK's re-send of a transaction that
	// landed (where the request token did not make it idempotent: an
	// emulator) finds the item carrying it, and is not taken for an
	// earlier attempt's customer.
	token := writeToken()
	item := newItem(r)
	item[attrWriteToken] = s(token)
	in := &dynamodb.TransactWriteItemsInput{
		TransactItems: []types.TransactWriteItem{
			{Put: &types.Put{TableName: aws.String(c.Table), Item: item,
				ConditionExpression: aws.String("attribute_not_exists(#id)"), ExpressionAttributeNames: map[string]string{"#id": attrID},
				ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld}},
			{Put: &types.Put{TableName: aws.String(c.Table),
				Item: map[string]types.AttributeValue{attrID: s(mid), attrMarkerCustomer: s(r.ID),
					attrCreatedAt: s(kyc.FormatTime(r.CreatedAt))},
				ConditionExpression:                 aws.String("attribute_not_exists(#id)"),
				ExpressionAttributeNames:            map[string]string{"#id": attrID},
				ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld}},
		},
	}
	for attempt := 0; ; attempt++ {
		// A token per attempt: the SDK's re-sends of one attempt are
		// idempotent, and our retry of a cancelled attempt runs afresh.
		in.ClientRequestToken = requestToken()
		_, err := c.Client.TransactWriteItems(ctx, in)
		if err == nil {
			return nil
		}
		codes, items, cancelled := reasons(err)
		if !cancelled {
			return c.outage("insert customer "+r.ID, err)
		}
		switch {
		case codeAt(codes, 0) == "ConditionalCheckFailed":
			// The id is taken: by this very insert, re-sent after a lost
			// answer (its token), or by an earlier attempt of the same
			// create (the id is the request's intent).
			return c.inserted(ctx, r.ID, token, items[0])
		case codeAt(codes, 1) == "ConditionalCheckFailed":
			// The marker exists: this customer's (an emulator that names
			// only the marker's failed condition), or another's.
			owner, err := c.markerOwner(ctx, mid, items[1])
			if err != nil {
				return err
			}
			if owner == r.ID {
				return c.inserted(ctx, r.ID, token, nil)
			}
			return kyc.ErrPlatformCustomerIDTaken
		case slices.Contains(codes, "TransactionConflict") && attempt+1 < transactAttempts:
			if err := c.wait(ctx, attempt); err != nil {
				return c.outage("insert customer "+r.ID, err)
			}
		default:
			return c.outage("insert customer "+r.ID, err)
		}
	}
}

// inserted decides an insert whose id is taken: the item carries this
// insert's token → it is this insert, landed → done; else
// ErrCustomerExists.
func (c *Customers) inserted(ctx context.Context, id, token string, item map[string]types.AttributeValue) error {
	ours, err := c.carries(ctx, id, token, item)
	if err != nil || ours {
		return err
	}
	return kyc.ErrCustomerExists
}

// carries reports whether customer id's item carries write token token:
// the item a failed condition returned or, where the emulator returns
// none (item nil), a consistent read.
func (c *Customers) carries(ctx context.Context, id, token string, item map[string]types.AttributeValue) (bool, error) {
	if item == nil {
		out, err := c.Client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(c.Table),
			Key: map[string]types.AttributeValue{attrID: s(id)}, ConsistentRead: aws.Bool(true)})
		if err != nil {
			return false, c.outage("get customer "+id, err)
		}
		item = out.Item
	}
	v, ok := item[attrWriteToken].(*types.AttributeValueMemberS)
	return ok && v.Value == token, nil
}

// markerOwner is the customer a marker names: from the item a failed
// condition returned or, where the emulator returns none, a consistent
// read.
func (c *Customers) markerOwner(ctx context.Context, mid string, item map[string]types.AttributeValue) (string, error) {
	if item == nil {
		out, err := c.Client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(c.Table),
			Key: map[string]types.AttributeValue{attrID: s(mid)}, ConsistentRead: aws.Bool(true)})
		if err != nil {
			return "", c.outage("read platformCustomerId marker", err)
		}
		item = out.Item
	}
	v, _ := item[attrMarkerCustomer].(*types.AttributeValueMemberS)
	if v == nil {
		return "", nil
	}
	return v.Value, nil
}

func (c *Customers) CustomerRecord(ctx context.Context, id string) (kyc.Customer, error) {
	out, err := c.Client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(c.Table),
		Key: map[string]types.AttributeValue{attrID: s(id)}, ConsistentRead: aws.Bool(true)})
	if err != nil {
		return kyc.Customer{}, c.outage("get customer", err)
	}
	if out.Item == nil || out.Item[attrPlatformID] == nil {
		return kyc.Customer{}, kyc.CustomerNotFound()
	}
	return recordFromItem(out.Item), nil
}

func (c *Customers) ActiveCustomerID(ctx context.Context, platformID, pcid string) (string, bool, error) {
	id, err := c.markerOwner(ctx, markerID(platformID, pcid), nil)
	return id, id != "", err
}

func (c *Customers) CustomerRange(ctx context.Context, q kyc.RangeQuery) ([]kyc.Customer, bool, error) {
	after := q.After
	if q.From != "" && after < q.From {
		after = "" // DynamoDB refuses a start key outside the key condition
	}
	if q.To != "" && after >= q.To {
		return nil, false, nil
	}
	names := map[string]string{"#p": attrPlatformID}
	values := map[string]types.AttributeValue{":p": s(q.PlatformID)}
	cond := "#p = :p"
	switch {
	case q.From != "" && q.To != "":
		cond += " AND #k BETWEEN :from AND :to" // no position equals To (they all go on with #id)
		names["#k"], values[":from"], values[":to"] = attrCreatedKey, s(q.From), s(q.To)
	case q.From != "":
		cond += " AND #k >= :from"
		names["#k"], values[":from"] = attrCreatedKey, s(q.From)
	case q.To != "":
		cond += " AND #k < :to"
		names["#k"], values[":to"] = attrCreatedKey, s(q.To)
	}
	in := &dynamodb.QueryInput{TableName: aws.String(c.Table), IndexName: aws.String(c.index()),
		KeyConditionExpression: aws.String(cond), ExpressionAttributeNames: names, ExpressionAttributeValues: values,
		Limit: aws.Int32(int32(max(1, q.Limit)))}
	if after != "" {
		in.ExclusiveStartKey = map[string]types.AttributeValue{attrPlatformID: s(q.PlatformID),
			attrCreatedKey: s(after), attrID: s(kyc.PositionID(after))}
	}
	out, err := c.Client.Query(ctx, in)
	if err != nil {
		return nil, false, c.outage("list customers (index "+c.index()+")", err)
	}
	recs := make([]kyc.Customer, 0, len(out.Items))
	for _, it := range out.Items {
		recs = append(recs, recordFromItem(it))
	}
	return recs, len(out.LastEvaluatedKey) > 0, nil
}

func (c *Customers) index() string {
	if c.Index != "" {
		return c.Index
	}
	return DefaultCustomersByPlatformIndex
}

// UpdateCustomer writes what next changes of prev, conditioned on the
// version read. Deleting also removes the platformCustomerId marker (when
// it names this customer), in the same transaction.
func (c *Customers) UpdateCustomer(ctx context.Context, prev, next kyc.Customer) error {
	next.Version = prev.Version + 1
	token := writeToken()
	update := updateOf(prev, next, token)
	deleting := next.IsDeleted && !prev.IsDeleted && prev.PlatformCustomerID != "" && !strings.Contains(prev.PlatformID, "#")
	if !deleting {
		_, err := c.Client.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: aws.String(c.Table),
			Key: map[string]types.AttributeValue{attrID: s(prev.ID)}, UpdateExpression: aws.String(update.expr),
			ConditionExpression: aws.String(update.cond), ExpressionAttributeNames: update.names,
			ExpressionAttributeValues: update.values, ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld})
		var ccf *types.ConditionalCheckFailedException
		if errors.As(err, &ccf) {
			return c.changed(ctx, next.ID, token, ccf.Item)
		}
		if err != nil {
			return c.outage("update customer "+prev.ID, err)
		}
		return nil
	}
	withMarker := true
	for attempt := 0; ; attempt++ {
		items := []types.TransactWriteItem{{Update: &types.Update{TableName: aws.String(c.Table),
			Key: map[string]types.AttributeValue{attrID: s(prev.ID)}, UpdateExpression: aws.String(update.expr),
			ConditionExpression: aws.String(update.cond), ExpressionAttributeNames: update.names,
			ExpressionAttributeValues: update.values, ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld}}}
		if withMarker {
			items = append(items, types.TransactWriteItem{Delete: &types.Delete{TableName: aws.String(c.Table),
				Key: map[string]types.AttributeValue{attrID: s(markerID(prev.PlatformID, prev.PlatformCustomerID))},
				// A marker of another customer (one written by hand with the
				// same platformCustomerId) stays.
				ConditionExpression:       aws.String("attribute_not_exists(#id) OR #c = :me"),
				ExpressionAttributeNames:  map[string]string{"#id": attrID, "#c": attrMarkerCustomer},
				ExpressionAttributeValues: map[string]types.AttributeValue{":me": s(prev.ID)}}})
		}
		_, err := c.Client.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items,
			ClientRequestToken: requestToken()})
		if err == nil {
			return nil
		}
		codes, old, cancelled := reasons(err)
		switch {
		case !cancelled:
			return c.outage("delete customer "+prev.ID, err)
		case codeAt(codes, 0) == "ConditionalCheckFailed":
			return c.changed(ctx, next.ID, token, old[0])
		case codeAt(codes, 1) == "ConditionalCheckFailed":
			withMarker = false
		case slices.Contains(codes, "TransactionConflict") && attempt+1 < transactAttempts:
			if err := c.wait(ctx, attempt); err != nil {
				return c.outage("delete customer "+prev.ID, err)
			}
		default:
			return c.outage("delete customer "+prev.ID, err)
		}
	}
}

// changed decides a failed version condition: the item carries this
// write's token (the SDK re-sent a write that had landed, whose answer
// was lost) → done; else another write landed first → kyc.ErrChanged.
func (c *Customers) changed(ctx context.Context, id, token string, item map[string]types.AttributeValue) error {
	ours, err := c.carries(ctx, id, token, item)
	if err != nil || ours {
		return err
	}
	return kyc.ErrChanged
}

type expression struct {
	expr, cond string
	names      map[string]string
	values     map[string]types.AttributeValue
}

// updateOf is the UpdateItem that turns prev's item into next's: SET what
// differs, REMOVE what next no longer has, never the reviews' attributes,
// conditioned on the item existing at prev's version, and marked with the
// write's token.
func updateOf(prev, next kyc.Customer, token string) expression {
	was, now := dataItem(prev), dataItem(next)
	now[attrUpdatedAt] = s(kyc.FormatTime(next.UpdatedAt))
	now[attrVersion] = n(next.Version)
	now[attrWriteToken] = s(token)
	e := expression{names: map[string]string{"#id": attrID, "#v": attrVersion}, values: map[string]types.AttributeValue{}}
	var sets, removes []string
	keys := make([]string, 0, len(now))
	for k := range now {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for i, k := range keys {
		if k != attrUpdatedAt && k != attrVersion && k != attrWriteToken && reflect.DeepEqual(was[k], now[k]) {
			continue
		}
		name, value := fmt.Sprintf("#a%d", i), fmt.Sprintf(":a%d", i)
		e.names[name], e.values[value] = k, now[k]
		sets = append(sets, name+" = "+value)
	}
	keys = keys[:0]
	for k := range was {
		if _, ok := now[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for i, k := range keys {
		name := fmt.Sprintf("#r%d", i)
		e.names[name] = k
		removes = append(removes, name)
	}
	if prev.Version == 0 && !prev.CreatedAt.IsZero() {
		// Written before the platform API: its first write puts it in the
		// by-platform index.
		e.names["#ck"], e.values[":ck"] = attrCreatedKey, s(prev.ListPosition())
		sets = append(sets, "#ck = if_not_exists(#ck, :ck)")
	}
	e.expr = "SET " + strings.Join(sets, ", ")
	if len(removes) > 0 {
		e.expr += " REMOVE " + strings.Join(removes, ", ")
	}
	if prev.Version == 0 {
		e.cond = "attribute_exists(#id) AND attribute_not_exists(#v)"
	} else {
		e.cond = "attribute_exists(#id) AND #v = :was"
		e.values[":was"] = n(prev.Version)
	}
	return e
}
