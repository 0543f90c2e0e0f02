package awsstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/grid-kyc/kyc-link/pkg/kyc"
)

// VerificationsAPI is the DynamoDB calls the verifications store makes
// (IAM: GetItem on the table, Query on its two indexes, and
// TransactWriteItems: PutItem on the verifications and outbox tables,
// UpdateItem on the customers and documents tables). The submission
// worker's marks also make MarksAPI's.
type VerificationsAPI interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	Query(ctx context.Context, in *dynamodb.QueryInput, opts ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
	TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, opts ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error)
}

// The verifications table's indexes (VERIFICATIONS_BY_PLATFORM_INDEX,
// VERIFICATIONS_BY_CUSTOMER_INDEX).
const (
	DefaultVerificationsByPlatformIndex = "byPlatform"
	DefaultVerificationsByCustomerIndex = "byCustomer"
)

// Verifications keeps verifications (kyc.VerificationRecords) in the
// verifications table (partition key id, S; a stream of new and old
// images, which the submission worker reads), listed through two
// indexes with sort key position (S, kyc.ListPosition): ByPlatform
// (partition key platformId) and ByCustomer (partition key customerId).
// A verification's creation writes, in the same transaction, its
// webhooks to the outbox table and, for a submission, the customer's
// status and current verification in the customers table and each
// document's lock (submittedIn) in the documents table.
type Verifications struct {
	Client          VerificationsAPI
	Table           string
	ByPlatformIndex string
	ByCustomerIndex string
	CustomersTable  string
	DocumentsTable  string
	OutboxTable     string
	// Backoff is the first wait before retrying a transaction cancelled
	// for a conflicting one (doubling; 10 ms when zero).
	Backoff time.Duration
}

var (
	_ kyc.VerificationRecords = (*Verifications)(nil)
	_ kyc.SubmissionMarks     = (*Verifications)(nil)
)

// Verification item attributes (with attrID, attrPlatformID, attrPosition,
// attrCreatedAtMs, attrUpdatedAtMs and attrLastReviewAt: epoch ms).
const (
	attrCustomerID         = "customerId"
	attrVerificationStatus = "verificationStatus" // S, Grid's VerificationStatus
	attrErrors             = "errors"             // L of M: Grid's VerificationError (absent: none)
	attrDocuments          = "documents"          // L of S: the document ids submitted (absent: none)
	attrCustomerVersion    = "customerVersion"    // N: the customer's version the checks passed on
	// attrSubmittedAtMs is when the submission job handed the
	// verification to the provider (N, epoch ms; absent: not yet). Only
	// MarkSubmitted writes it, and only once.
	attrSubmittedAtMs = "submittedAtMs"
)

func (v *Verifications) outage(op string, err error) error {
	return fault(kyc.DepStore, "The verification store is temporarily unavailable.",
		fmt.Errorf("%s (table %s): %w", op, v.Table, err))
}

// VerificationItem is v as the verifications table keeps it.
func VerificationItem(v kyc.Verification) map[string]types.AttributeValue {
	item := map[string]types.AttributeValue{
		attrID: s(v.ID), attrPlatformID: s(v.PlatformID), attrCustomerID: s(v.CustomerID),
		attrVerificationStatus: s(string(v.Status)), attrPosition: s(v.ListPosition()),
		attrCreatedAtMs: n(v.CreatedAt.UnixMilli()), attrUpdatedAtMs: n(v.UpdatedAt.UnixMilli()),
		attrCustomerVersion: n(v.CustomerVersion),
	}
	if len(v.Errors) > 0 {
		item[attrErrors] = errorsItem(v.Errors)
	}
	if len(v.Documents) > 0 {
		item[attrDocuments] = list(v.Documents)
	}
	if !v.LastReviewAt.IsZero() {
		item[attrLastReviewAt] = n(v.LastReviewAt.UnixMilli())
	}
	return item
}

func errorsItem(errs []kyc.VerificationError) types.AttributeValue {
	l := make([]types.AttributeValue, len(errs))
	for i, e := range errs {
		m := map[string]types.AttributeValue{"resourceId": s(e.ResourceID), "type": s(e.Type), "reason": s(e.Reason)}
		putIf(m, "field", e.Field)
		if len(e.AcceptedDocumentTypes) > 0 {
			m["acceptedDocumentTypes"] = list(e.AcceptedDocumentTypes)
		}
		l[i] = &types.AttributeValueMemberM{Value: m}
	}
	return &types.AttributeValueMemberL{Value: l}
}

// VerificationFromItem reads a verification item (a GetItem's, a Query's
// or a stream image once converted); an attribute of an unexpected type
// reads as absent.
func VerificationFromItem(it map[string]types.AttributeValue) kyc.Verification {
	v := kyc.Verification{ID: str(it, attrID), PlatformID: str(it, attrPlatformID), CustomerID: str(it, attrCustomerID),
		Status: kyc.VerificationStatus(str(it, attrVerificationStatus)), Documents: strList(it, attrDocuments),
		CreatedAt: ms(it, attrCreatedAtMs), UpdatedAt: ms(it, attrUpdatedAtMs), LastReviewAt: ms(it, attrLastReviewAt),
		CustomerVersion: num(it, attrCustomerVersion)}
	if l, ok := it[attrErrors].(*types.AttributeValueMemberL); ok {
		for _, e := range l.Value {
			m, ok := e.(*types.AttributeValueMemberM)
			if !ok {
				continue
			}
			v.Errors = append(v.Errors, kyc.VerificationError{ResourceID: str(m.Value, "resourceId"), Type: str(m.Value, "type"),
				Field: str(m.Value, "field"), AcceptedDocumentTypes: strList(m.Value, "acceptedDocumentTypes"),
				Reason: str(m.Value, "reason")})
		}
	}
	return v
}

func (v *Verifications) VerificationRecord(ctx context.Context, id string) (kyc.Verification, error) {
	out, err := v.Client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(v.Table),
		Key: map[string]types.AttributeValue{attrID: s(id)}, ConsistentRead: aws.Bool(true)})
	if err != nil {
		return kyc.Verification{}, v.outage("get verification", err)
	}
	if out.Item == nil {
		return kyc.Verification{}, kyc.VerificationNotFound()
	}
	return VerificationFromItem(out.Item), nil
}

// VerificationRange reads the by-customer index when q names a customer
// (keeping only q's platform's: a customer id of another platform reads
// as none), else the by-platform index.
func (v *Verifications) VerificationRange(ctx context.Context, q kyc.VerificationRange) ([]kyc.Verification, bool, error) {
	limit := max(1, q.Limit)
	in := &dynamodb.QueryInput{TableName: aws.String(v.Table),
		ExpressionAttributeNames:  map[string]string{"#p": attrPlatformID},
		ExpressionAttributeValues: map[string]types.AttributeValue{":p": s(q.PlatformID)},
		Limit:                     aws.Int32(int32(limit + 1))} // one more: more is exact
	if q.CustomerID != "" {
		in.IndexName = aws.String(cmpOr(v.ByCustomerIndex, DefaultVerificationsByCustomerIndex))
		in.KeyConditionExpression = aws.String("#c = :c")
		in.FilterExpression = aws.String("#p = :p")
		in.ExpressionAttributeNames["#c"] = attrCustomerID
		in.ExpressionAttributeValues[":c"] = s(q.CustomerID)
	} else {
		in.IndexName = aws.String(cmpOr(v.ByPlatformIndex, DefaultVerificationsByPlatformIndex))
		in.KeyConditionExpression = aws.String("#p = :p")
	}
	if q.After != "" {
		*in.KeyConditionExpression += " AND #pos > :after"
		in.ExpressionAttributeNames["#pos"] = attrPosition
		in.ExpressionAttributeValues[":after"] = s(q.After)
	}
	out, err := v.Client.Query(ctx, in)
	if err != nil {
		return nil, false, v.outage("list verifications (index "+aws.ToString(in.IndexName)+")", err)
	}
	vs := make([]kyc.Verification, 0, min(len(out.Items), limit))
	for _, it := range out.Items {
		if len(vs) == limit {
			return vs, true, nil
		}
		vs = append(vs, VerificationFromItem(it))
	}
	return vs, len(out.LastEvaluatedKey) > 0, nil
}

func cmpOr(v, def string) string {
	if v != "" {
		return v
	}
	return def
}

// WriteVerification writes w in one transaction: the verification (only
// if its id is free: else kyc.ErrVerificationExists), its notices in the
// outbox table, and with a submission the customer's status, current
// verification and updatedAt and its owners' statuses (PENDING), only if
// its version, status and current verification are as read and it is
// not deleted, and each document's lock (only if its version is as read;
// one locked already stays locked by its first verification): a failed
// condition of these is kyc.ErrChanged, and nothing is written.
//
// A write whose answer was lost and whose re-send the request token did
// not make idempotent finds its own verification: ErrVerificationExists,
// which the domain answers by reading it back.
func (v *Verifications) WriteVerification(ctx context.Context, w kyc.VerificationWrite) error {
	ver := w.Verification
	if ver.ID == "" || ver.PlatformID == "" || ver.CustomerID == "" || ver.CreatedAt.IsZero() {
		return kyc.Internal(fmt.Errorf("awsstore: verification %q without id, platform, customer or creation time", ver.ID))
	}
	writes := 1 + len(w.Notices)
	if w.Submission != nil {
		writes += 1 + len(w.Submission.Documents)
	}
	if writes > maxTransactItems {
		return kyc.Internal(fmt.Errorf("awsstore: verification %s needs %d writes; one DynamoDB transaction takes %d", ver.ID, writes, maxTransactItems))
	}
	items := make([]types.TransactWriteItem, 0, writes)
	items = append(items, types.TransactWriteItem{Put: &types.Put{TableName: aws.String(v.Table), Item: VerificationItem(ver),
		ConditionExpression: aws.String("attribute_not_exists(#id)"), ExpressionAttributeNames: map[string]string{"#id": attrID}}})
	for _, n := range w.Notices {
		items = append(items, outboxPut(v.OutboxTable, n))
	}
	if sub := w.Submission; sub != nil {
		items = append(items, v.submitCustomer(ver.ID, sub))
		for _, d := range sub.Documents {
			// Held at the version read; locked by its first submission
			// (a resubmission sends it again, locked already).
			names := map[string]string{"#pk": attrPK, "#v": attrVersion, "#sub": attrSubmittedIn}
			values := map[string]types.AttributeValue{":was": n(d.Version), ":vid": s(ver.ID)}
			items = append(items, types.TransactWriteItem{Update: &types.Update{TableName: aws.String(v.DocumentsTable),
				Key: documentKey(d.ID), UpdateExpression: aws.String("SET #sub = if_not_exists(#sub, :vid)"),
				ConditionExpression:      aws.String("attribute_exists(#pk) AND #v = :was"),
				ExpressionAttributeNames: names, ExpressionAttributeValues: values}})
		}
	}
	codes, _, err := transact(ctx, v.Client, items, v.Backoff)
	switch {
	case err == nil:
		return nil
	case failedAt(codes, 0):
		return kyc.ErrVerificationExists
	case slices.Contains(codes, "ConditionalCheckFailed"):
		// The customer or a document moved (or, never in practice, a
		// notice id was taken): nothing was written; decide again.
		return kyc.ErrChanged
	default:
		return v.outage("write verification "+ver.ID, err)
	}
}

// submitCustomer is a submission's update of its customer: the status of
// its type, the current verification, updatedAt, no reject reasons, and
// each of its owners PENDING (its last review kept, its reasons dropped),
// conditioned on the customer being as read and not deleted (its version
// as read: the owners are those read).
func (v *Verifications) submitCustomer(id string, sub *kyc.Submission) types.TransactWriteItem {
	c := sub.Customer
	u := newClauses()
	for k, name := range map[string]string{"#id": attrID, "#f": statusAttr(c.Type), "#vid": attrVerificationID, "#up": attrUpdatedAt,
		"#rt": attrRejectType, "#rl": attrRejectLabels, "#v": attrVersion, "#del": attrIsDeleted} {
		u.names[k] = name
	}
	for k, value := range map[string]types.AttributeValue{":status": s(string(sub.Status)), ":vid": s(id),
		":up": s(kyc.FormatTime(sub.UpdatedAt)), ":was": s(string(c.StatusOf())), ":false": &types.AttributeValueMemberBOOL{Value: false}} {
		u.values[k] = value
	}
	u.conds = append(u.conds, "attribute_exists(#id)", "(attribute_not_exists(#del) OR #del = :false)")
	if c.Version == 0 {
		u.conds = append(u.conds, "attribute_not_exists(#v)")
	} else {
		u.conds = append(u.conds, "#v = :ver")
		u.values[":ver"] = n(c.Version)
	}
	if c.StatusOf() == kyc.StatusUnverified {
		u.conds = append(u.conds, "(attribute_not_exists(#f) OR #f = :was)")
	} else {
		u.conds = append(u.conds, "#f = :was")
	}
	if c.VerificationID == "" {
		u.conds = append(u.conds, "attribute_not_exists(#vid)")
	} else {
		u.conds = append(u.conds, "#vid = :wasVid")
		u.values[":wasVid"] = s(c.VerificationID)
	}
	u.sets = append(u.sets, "#f = :status", "#vid = :vid", "#up = :up")
	u.removes = append(u.removes, "#rt", "#rl")
	submittedOwners(u, c.Owners)
	return types.TransactWriteItem{Update: &types.Update{TableName: aws.String(v.CustomersTable),
		Key:                      map[string]types.AttributeValue{attrID: s(c.ID)},
		UpdateExpression:         aws.String(u.update()),
		ConditionExpression:      aws.String(u.condition()),
		ExpressionAttributeNames: u.names, ExpressionAttributeValues: u.values}}
}

// outboxPut is notice's write to the outbox table. A notice id is never
// reused, so an existing item is never replaced.
func outboxPut(table string, notice kyc.Notice) types.TransactWriteItem {
	return types.TransactWriteItem{Put: &types.Put{TableName: aws.String(table), Item: OutboxItem(notice),
		ConditionExpression:      aws.String("attribute_not_exists(#id)"),
		ExpressionAttributeNames: map[string]string{"#id": OutboxKey}}}
}

// verificationMove is the writes of a review's move of the customer's
// current verification (Customers.ApplyChange): its status, errors, last
// review and updatedAt, only if its status is still as read; and its
// notice, if any.
func verificationMove(table, outbox string, mv *kyc.VerificationMove) []types.TransactWriteItem {
	names := map[string]string{"#id": attrID, "#st": attrVerificationStatus, "#at": attrLastReviewAt, "#up": attrUpdatedAtMs, "#err": attrErrors}
	values := map[string]types.AttributeValue{":st": s(string(mv.Status)), ":was": s(string(mv.WasStatus)),
		":at": n(mv.ReviewAt.UnixMilli()), ":up": n(mv.UpdatedAt.UnixMilli())}
	update := "SET #st = :st, #at = :at, #up = :up"
	if len(mv.Errors) > 0 {
		update += ", #err = :err"
		values[":err"] = errorsItem(mv.Errors)
	} else {
		update += " REMOVE #err"
	}
	items := []types.TransactWriteItem{{Update: &types.Update{TableName: aws.String(table),
		Key: map[string]types.AttributeValue{attrID: s(mv.ID)}, UpdateExpression: aws.String(update),
		ConditionExpression:      aws.String("attribute_exists(#id) AND #st = :was"),
		ExpressionAttributeNames: names, ExpressionAttributeValues: values}}}
	if mv.Notice != nil {
		items = append(items, outboxPut(outbox, *mv.Notice))
	}
	return items
}

// MarksAPI is the call MarkSubmitted makes besides VerificationsAPI's
// (IAM: UpdateItem on the table); the DynamoDB client has it, and a
// Client without it cannot mark.
type MarksAPI interface {
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
}

// MarkSubmitted notes that verification id reached the provider at at
// (kyc.SubmissionMarks): one UpdateItem that sets submittedAtMs only if
// it is absent (if_not_exists), so a repeated job keeps the first time,
// and only on an existing verification (the condition keeps it from
// making an item of its own). The write is a MODIFY on the table's
// stream, which the submission relay passes over (it queues INSERTs).
func (v *Verifications) MarkSubmitted(ctx context.Context, id string, at time.Time) error {
	c, ok := v.Client.(MarksAPI)
	if !ok {
		return kyc.Internal(fmt.Errorf("awsstore: the verifications store's client (%T) has no UpdateItem", v.Client))
	}
	_, err := c.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: aws.String(v.Table),
		Key:                       map[string]types.AttributeValue{attrID: s(id)},
		UpdateExpression:          aws.String("SET #sub = if_not_exists(#sub, :at)"),
		ConditionExpression:       aws.String("attribute_exists(#id)"),
		ExpressionAttributeNames:  map[string]string{"#id": attrID, "#sub": attrSubmittedAtMs},
		ExpressionAttributeValues: map[string]types.AttributeValue{":at": n(at.UnixMilli())}})
	var ccf *types.ConditionalCheckFailedException
	switch {
	case errors.As(err, &ccf):
		return nil // no such verification: nothing a later job could submit again
	case err != nil:
		return v.outage("mark verification "+id+" submitted", err)
	}
	return nil
}

// Submitted reports whether MarkSubmitted was called for id, with a
// consistent read (a mark made a moment ago by another attempt counts).
func (v *Verifications) Submitted(ctx context.Context, id string) (bool, error) {
	out, err := v.Client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(v.Table),
		Key: map[string]types.AttributeValue{attrID: s(id)}, ConsistentRead: aws.Bool(true),
		ProjectionExpression: aws.String("#sub"), ExpressionAttributeNames: map[string]string{"#sub": attrSubmittedAtMs}})
	if err != nil {
		return false, v.outage("read verification "+id+"'s submission", err)
	}
	_, ok := out.Item[attrSubmittedAtMs]
	return ok, nil
}
