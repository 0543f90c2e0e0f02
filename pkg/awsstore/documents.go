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

// DocumentsAPI is the DynamoDB calls the documents store makes (IAM:
// GetItem and Query on the table, Query on the by-platform index, and
// TransactWriteItems with Put, Update and Delete: PutItem, UpdateItem,
// DeleteItem on the table).
type DocumentsAPI interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	Query(ctx context.Context, in *dynamodb.QueryInput, opts ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
	TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, opts ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error)
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
}

// DefaultDocumentsByPlatformIndex is the documents table's by-platform
// index (DOCUMENTS_BY_PLATFORM_INDEX).
const DefaultDocumentsByPlatformIndex = "byPlatform"

// Documents keeps documents' metadata (kyc.DocumentRecords) in the
// documents table: partition key pk (S), sort key sk (S). Each document
// is two items, always written together in one transaction:
//
//   - by id: pk = the document id (Document:…), sk = "document". It is
//     the authority on the document's version and its lock (submittedIn),
//     and a get reads it, consistently.
//   - by holder: pk = the holder id (Customer:…), sk = the document's list
//     position (kyc.Document.ListPosition: createdAt#id), a copy of the
//     metadata plus position, the sort key of the sparse by-platform
//     index (Index: partition key platformId, sort key position; only
//     these items carry position). A holder's list is a consistent Query
//     of the table (a submission reads it right after an upload); the
//     platform's list reads the index, eventually consistent.
//
// The holder item carries no submittedIn: a submission locks a holder's
// up to kyc.MaxDocumentsPerHolder documents in one transaction of at most
// 100 writes, so it writes the by-id items only. A range's documents have
// SubmittedIn "" (DocumentRecord has it).
type Documents struct {
	Client DocumentsAPI
	Table  string
	Index  string
	// Backoff is the first wait before retrying a transaction cancelled
	// for a conflicting one (doubling; 10 ms when zero).
	Backoff time.Duration
}

var _ kyc.DocumentRecords = (*Documents)(nil)

// Document item attributes (with attrID, attrPlatformID, attrVersion
// and attrWriteToken). Times are epoch milliseconds.
const (
	attrPK               = "pk"
	attrSK               = "sk"
	docByIDSort          = "document" // sk of the by-id item
	attrPosition         = "position" // S: kyc.ListPosition, the index's sort key (holder items only)
	attrHolder           = "holder"
	attrDocumentType     = "documentType"
	attrSide             = "side"
	attrCountry          = "country"
	attrDocumentNumber   = "documentNumber" // personal data: never in a log or an error
	attrIssuingAuthority = "issuingAuthority"
	attrFileName         = "fileName"
	attrContentType      = "contentType"
	attrSize             = "size"    // N, bytes
	attrFileKey          = "fileKey" // S, the file's key in the documents bucket
	attrCreatedAtMs      = "createdAtMs"
	attrUpdatedAtMs      = "updatedAtMs"
	attrSubmittedIn      = "submittedIn" // S, by-id item only: the verification that locked it
)

func (d *Documents) outage(op string, err error) error {
	return fault(kyc.DepStore, "The document store is temporarily unavailable.",
		fmt.Errorf("%s (table %s): %w", op, d.Table, err))
}

func (d *Documents) index() string {
	if d.Index != "" {
		return d.Index
	}
	return DefaultDocumentsByPlatformIndex
}

// documentKey is the key of document id's by-id item.
func documentKey(id string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{attrPK: s(id), attrSK: s(docByIDSort)}
}

// holderKey is the key of d's by-holder item.
func holderKey(d kyc.Document) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{attrPK: s(d.Holder), attrSK: s(d.ListPosition())}
}

// documentData is the metadata both of d's items carry.
func documentData(d kyc.Document) map[string]types.AttributeValue {
	item := map[string]types.AttributeValue{
		attrID: s(d.ID), attrPlatformID: s(d.PlatformID), attrHolder: s(d.Holder),
		attrSize: n(d.Size), attrVersion: n(d.Version),
		attrCreatedAtMs: n(d.CreatedAt.UnixMilli()), attrUpdatedAtMs: n(d.UpdatedAt.UnixMilli()),
	}
	for k, v := range map[string]string{attrDocumentType: string(d.Type), attrSide: d.Side, attrCountry: d.Country,
		attrDocumentNumber: d.Number, attrIssuingAuthority: d.IssuingAuthority, attrFileName: d.FileName,
		attrContentType: d.ContentType, attrFileKey: d.FileKey} {
		putIf(item, k, v)
	}
	return item
}

// byIDItem is d's by-id item, marked with the write's token.
func byIDItem(d kyc.Document, token string) map[string]types.AttributeValue {
	item := documentData(d)
	for k, v := range documentKey(d.ID) {
		item[k] = v
	}
	putIf(item, attrSubmittedIn, d.SubmittedIn)
	item[attrWriteToken] = s(token)
	return item
}

// byHolderItem is d's by-holder item.
func byHolderItem(d kyc.Document) map[string]types.AttributeValue {
	item := documentData(d)
	for k, v := range holderKey(d) {
		item[k] = v
	}
	item[attrPosition] = s(d.ListPosition())
	return item
}

// DocumentFromItem reads either item of a document; an attribute of an
// unexpected type reads as absent.
func DocumentFromItem(it map[string]types.AttributeValue) kyc.Document {
	return kyc.Document{ID: str(it, attrID), PlatformID: str(it, attrPlatformID), Holder: str(it, attrHolder),
		Type: kyc.DocumentType(str(it, attrDocumentType)), Side: str(it, attrSide), Country: str(it, attrCountry),
		Number: str(it, attrDocumentNumber), IssuingAuthority: str(it, attrIssuingAuthority),
		FileName: str(it, attrFileName), ContentType: str(it, attrContentType), Size: num(it, attrSize),
		FileKey: str(it, attrFileKey), CreatedAt: ms(it, attrCreatedAtMs), UpdatedAt: ms(it, attrUpdatedAtMs),
		Version: num(it, attrVersion), SubmittedIn: str(it, attrSubmittedIn)}
}

// checkDocument refuses a document whose items DynamoDB would refuse
// (an empty key) or whose keys would lie (a position without a time).
func checkDocument(d kyc.Document) error {
	if d.ID == "" || d.PlatformID == "" || d.Holder == "" || d.CreatedAt.IsZero() {
		return kyc.Internal(fmt.Errorf("awsstore: document %q without id, platform, holder or creation time", d.ID))
	}
	return nil
}

// InsertDocument writes both items, each only if it does not exist.
func (d *Documents) InsertDocument(ctx context.Context, doc kyc.Document) error {
	if err := checkDocument(doc); err != nil {
		return err
	}
	// The insert's own token: a re-send of this very transaction that
	// landed (where the request token did not make it idempotent) finds
	// the item carrying it, and is not taken for another's document.
	token := writeToken()
	notExists := aws.String("attribute_not_exists(#pk)")
	names := map[string]string{"#pk": attrPK}
	items := []types.TransactWriteItem{
		{Put: &types.Put{TableName: aws.String(d.Table), Item: byIDItem(doc, token), ConditionExpression: notExists,
			ExpressionAttributeNames: names, ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld}},
		{Put: &types.Put{TableName: aws.String(d.Table), Item: byHolderItem(doc), ConditionExpression: notExists,
			ExpressionAttributeNames: names}},
		countUpdate(d.Table, doc.Holder, 1, true),
	}
	if doc.Upload != "" {
		items = append(items, uploadCompleted(d.Table, doc.Upload, doc.CreatedAt))
	}
	codes, old, err := transact(ctx, d.Client, items, d.Backoff)
	switch {
	case err == nil:
		return nil
	case failedAt(codes, 2) && !failedAt(codes, 0) && !failedAt(codes, 1):
		return kyc.ErrHolderFull
	case failedAt(codes, 0) || failedAt(codes, 1):
		item, err := d.byID(ctx, doc.ID, oldAt(old, 0))
		if err != nil {
			return err
		}
		if item == nil {
			// The holder item exists without its document: no write of
			// this store leaves that.
			return kyc.Internal(fmt.Errorf("awsstore: insert document %s: its holder item exists, its document item does not", doc.ID))
		}
		if str(item, attrWriteToken) == token {
			return nil // this insert, landed
		}
		return kyc.ErrDocumentExists
	default:
		return d.outage("insert document "+doc.ID, err)
	}
}

// byID is document id's by-id item: item when a failed condition
// returned it, else a consistent read (nil: none).
func (d *Documents) byID(ctx context.Context, id string, item map[string]types.AttributeValue) (map[string]types.AttributeValue, error) {
	if item != nil {
		return item, nil
	}
	out, err := d.Client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(d.Table), Key: documentKey(id), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return nil, d.outage("get document "+id, err)
	}
	return out.Item, nil
}

func (d *Documents) DocumentRecord(ctx context.Context, id string) (kyc.Document, error) {
	item, err := d.byID(ctx, id, nil)
	if err != nil {
		return kyc.Document{}, err
	}
	if item == nil {
		return kyc.Document{}, kyc.DocumentNotFound()
	}
	return DocumentFromItem(item), nil
}

// DocumentRange reads a holder's documents with a consistent Query of the
// table, a platform's with a Query of the by-platform index.
func (d *Documents) DocumentRange(ctx context.Context, q kyc.DocumentRange) ([]kyc.Document, bool, error) {
	limit := max(1, q.Limit)
	in := &dynamodb.QueryInput{TableName: aws.String(d.Table),
		ExpressionAttributeNames:  map[string]string{"#p": attrPlatformID},
		ExpressionAttributeValues: map[string]types.AttributeValue{":p": s(q.PlatformID)},
		// One more than asked: more is then exact, not DynamoDB's
		// LastEvaluatedKey after a page that happens to end the range.
		Limit: aws.Int32(int32(limit + 1))}
	what := "list documents"
	if q.Holder != "" {
		// The holder's platform is the holder's: the filter drops
		// nothing unless the holder is another platform's, whose
		// documents must not come back.
		in.KeyConditionExpression = aws.String("#pk = :h")
		in.FilterExpression = aws.String("#p = :p")
		in.ConsistentRead = aws.Bool(true)
		in.ExpressionAttributeNames["#pk"] = attrPK
		in.ExpressionAttributeValues[":h"] = s(q.Holder)
		if q.After != "" {
			*in.KeyConditionExpression += " AND #sk > :after"
			in.ExpressionAttributeNames["#sk"] = attrSK
			in.ExpressionAttributeValues[":after"] = s(q.After)
		}
	} else {
		in.IndexName = aws.String(d.index())
		in.KeyConditionExpression = aws.String("#p = :p")
		if q.After != "" {
			*in.KeyConditionExpression += " AND #pos > :after"
			in.ExpressionAttributeNames["#pos"] = attrPosition
			in.ExpressionAttributeValues[":after"] = s(q.After)
		}
		what += " (index " + d.index() + ")"
	}
	out, err := d.Client.Query(ctx, in)
	if err != nil {
		return nil, false, d.outage(what, err)
	}
	docs := make([]kyc.Document, 0, min(len(out.Items), limit))
	for _, it := range out.Items {
		if len(docs) == limit {
			return docs, true, nil
		}
		docs = append(docs, DocumentFromItem(it))
	}
	// Fewer than asked with a LastEvaluatedKey: the filter dropped some
	// (or a page filled up); more may follow.
	return docs, len(out.LastEvaluatedKey) > 0, nil
}

// unlocked is the condition of every change to a document: its by-id
// item is at version and not submitted.
func unlocked(version int64) (cond string, names map[string]string, values map[string]types.AttributeValue) {
	return "#v = :was AND attribute_not_exists(#sub)",
		map[string]string{"#v": attrVersion, "#sub": attrSubmittedIn},
		map[string]types.AttributeValue{":was": n(version)}
}

// ReplaceDocument writes both of next's items in one transaction, only if
// the by-id item is still at prev's version and not submitted.
func (d *Documents) ReplaceDocument(ctx context.Context, prev, next kyc.Document) error {
	next.Version, next.SubmittedIn = prev.Version+1, ""
	if err := checkDocument(next); err != nil {
		return err
	}
	if next.ID != prev.ID {
		return kyc.Internal(fmt.Errorf("awsstore: replace document %s with %s", prev.ID, next.ID))
	}
	token := writeToken()
	cond, names, values := unlocked(prev.Version)
	items := []types.TransactWriteItem{
		{Put: &types.Put{TableName: aws.String(d.Table), Item: byIDItem(next, token), ConditionExpression: aws.String(cond),
			ExpressionAttributeNames: names, ExpressionAttributeValues: values,
			ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld}},
		// The by-id item's condition stands for both: the transaction
		// writes neither unless it holds.
		{Put: &types.Put{TableName: aws.String(d.Table), Item: byHolderItem(next)}},
	}
	if prev.Holder != next.Holder || prev.ListPosition() != next.ListPosition() {
		// Not a change the domain makes; kept right if it ever is.
		items = append(items, types.TransactWriteItem{Delete: &types.Delete{TableName: aws.String(d.Table), Key: holderKey(prev)}})
	}
	codes, old, err := transact(ctx, d.Client, items, d.Backoff)
	switch {
	case err == nil:
		return nil
	case failedAt(codes, 0):
		item, err := d.byID(ctx, prev.ID, oldAt(old, 0))
		if err != nil {
			return err
		}
		if item != nil && str(item, attrWriteToken) == token {
			return nil // this replace, landed
		}
		return kyc.ErrChanged
	default:
		return d.outage("replace document "+prev.ID, err)
	}
}

// DeleteDocument deletes both of prev's items in one transaction, only if
// the by-id item is still at prev's version and not submitted. (A delete
// whose answer was lost and whose re-send the request token did not make
// idempotent reads as ErrChanged: nothing is left to carry a token.)
func (d *Documents) DeleteDocument(ctx context.Context, prev kyc.Document) error {
	if err := checkDocument(prev); err != nil {
		return err
	}
	cond, names, values := unlocked(prev.Version)
	items := []types.TransactWriteItem{
		{Delete: &types.Delete{TableName: aws.String(d.Table), Key: documentKey(prev.ID), ConditionExpression: aws.String(cond),
			ExpressionAttributeNames: names, ExpressionAttributeValues: values}},
		{Delete: &types.Delete{TableName: aws.String(d.Table), Key: holderKey(prev)}},
		countUpdate(d.Table, prev.Holder, -1, false),
	}
	codes, _, err := transact(ctx, d.Client, items, d.Backoff)
	switch {
	case err == nil:
		return nil
	case failedAt(codes, 0):
		return kyc.ErrChanged
	default:
		return d.outage("delete document "+prev.ID, err)
	}
}

var _ kyc.DocumentPurger = (*Documents)(nil)

// PurgeDocument deletes both of d's items whatever their state (a purge
// of a customer who is gone: locks no longer matter); a missing item is
// no error.
func (d *Documents) PurgeDocument(ctx context.Context, doc kyc.Document) error {
	if err := checkDocument(doc); err != nil {
		return err
	}
	items := []types.TransactWriteItem{
		{Delete: &types.Delete{TableName: aws.String(d.Table), Key: documentKey(doc.ID),
			ConditionExpression: aws.String("attribute_exists(#pk)"), ExpressionAttributeNames: map[string]string{"#pk": attrPK}}},
		{Delete: &types.Delete{TableName: aws.String(d.Table), Key: holderKey(doc)}},
		countUpdate(d.Table, doc.Holder, -1, false),
	}
	codes, _, err := transact(ctx, d.Client, items, d.Backoff)
	switch {
	case err == nil:
		return nil
	case failedAt(codes, 0):
		// Its by-id item is gone (an earlier attempt's purge, its count
		// moved then): the holder item, if left, goes on its own.
		if _, err := d.Client.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
			{Delete: &types.Delete{TableName: aws.String(d.Table), Key: holderKey(doc)}}}}); err != nil {
			return d.outage("purge document "+doc.ID+" (its holder item)", err)
		}
		return nil
	default:
		return d.outage("purge document "+doc.ID, err)
	}
}

// A holder's document count: its own item (pk "count#" + holder, sk
// "count", attribute n), moved in the transaction of every insert and
// delete, so that MaxDocumentsPerHolder holds under concurrent uploads.
const (
	countPrefix = "count#"
	countSort   = "count"
	attrCount   = "n"
)

// countUpdate adds delta to holder's count; capped, only while it is
// below kyc.MaxDocumentsPerHolder.
func countUpdate(table, holder string, delta int64, capped bool) types.TransactWriteItem {
	u := &types.Update{TableName: aws.String(table),
		Key:                       map[string]types.AttributeValue{attrPK: s(countPrefix + holder), attrSK: s(countSort)},
		UpdateExpression:          aws.String("ADD #n :d"),
		ExpressionAttributeNames:  map[string]string{"#n": attrCount},
		ExpressionAttributeValues: map[string]types.AttributeValue{":d": n(delta)}}
	if capped {
		u.ConditionExpression = aws.String("attribute_not_exists(#n) OR #n < :max")
		u.ExpressionAttributeValues[":max"] = n(kyc.MaxDocumentsPerHolder)
	}
	return types.TransactWriteItem{Update: u}
}
