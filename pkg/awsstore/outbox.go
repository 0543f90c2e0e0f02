package awsstore

import (
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	streamtypes "github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"

	"github.com/grid-kyc/kyc-link/pkg/kyc"
	"github.com/grid-kyc/kyc-link/pkg/webhooks"
)

// The outbox codec: the one place that knows the attributes of an outbox
// item. A status change writes its notice as OutboxItem in the same
// transaction as the customer (Customers.ApplyChange); the relay reads
// the item back from the table's stream with the one decoder below, whether
// Lambda hands it the record (webhooks.Relay.HandleStream, through
// OutboxRecords) or the local poller reads it from DynamoDB Streams
// (StreamPoller): both images are first converted to the table's own form
// (itemFromLambda, itemFromStreams), then decoded by NoticeFromOutbox.
//
// The format is what deployed tables hold; change it only with a reader for
// both forms, as items written before the change are still in the stream
// and the table.
const (
	// OutboxKey is the outbox table's partition key (S): the notice id
	// (Webhook:…).
	OutboxKey = "id"

	outboxPlatform  = "platformId"  // S
	outboxType      = "type"        // S, the Grid webhook type
	outboxCreatedAt = "createdAtMs" // N, ms since the epoch: the notice's creation, when its retry window starts
	outboxBody      = "body"        // S, the exact JSON sent and signed
	outboxExpires   = "expiresAt"   // N, epoch seconds: the table's TTL attribute
)

// OutboxTTL is how long an outbox item is kept after its notice was
// created, as the record of what was sent (delivery reads only the stream).
const OutboxTTL = 30 * 24 * time.Hour

// OutboxItem is notice as the outbox table keeps it.
func OutboxItem(notice kyc.Notice) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		OutboxKey:       s(notice.ID),
		outboxPlatform:  s(notice.PlatformID),
		outboxType:      s(notice.Type),
		outboxCreatedAt: n(notice.CreatedAt.UnixMilli()),
		outboxBody:      s(string(notice.Body)),
		outboxExpires:   n(notice.CreatedAt.Add(OutboxTTL).Unix()),
	}
}

// NoticeFromOutbox reads an outbox item (a stream record's new image, once
// converted). It needs an id and a numeric createdAtMs; the other
// attributes read as empty when missing or not strings. An error is an
// item no retry can deliver (the relay logs and skips it).
func NoticeFromOutbox(item map[string]types.AttributeValue) (kyc.Notice, error) {
	str := func(k string) string {
		if v, ok := item[k].(*types.AttributeValueMemberS); ok {
			return v.Value
		}
		return ""
	}
	id := str(OutboxKey)
	num, ok := item[outboxCreatedAt].(*types.AttributeValueMemberN)
	if !ok || id == "" {
		return kyc.Notice{}, fmt.Errorf("outbox record %q without id or createdAtMs", id)
	}
	ms, err := strconv.ParseInt(num.Value, 10, 64)
	if err != nil {
		return kyc.Notice{}, fmt.Errorf("outbox record %s: createdAtMs: %w", id, err)
	}
	return kyc.Notice{ID: id, PlatformID: str(outboxPlatform), Type: str(outboxType),
		CreatedAt: time.UnixMilli(ms).UTC(), Body: []byte(str(outboxBody))}, nil
}

// OutboxRecords reads the outbox stream's records as Lambda hands them to
// the relay.
type OutboxRecords struct{}

var _ webhooks.OutboxDecoder = OutboxRecords{}

func (OutboxRecords) LambdaRecord(rec events.DynamoDBEventRecord) (kyc.Notice, error) {
	return outboxRecord(rec.EventName, itemFromLambda(rec.Change.NewImage))
}

// outboxRecord decodes one stream record of the outbox table, given its
// event name and its new image in the table's form.
func outboxRecord(event string, image map[string]types.AttributeValue) (kyc.Notice, error) {
	if event != string(streamtypes.OperationTypeInsert) {
		return kyc.Notice{}, webhooks.ErrNotAnInsert
	}
	return NoticeFromOutbox(image)
}

// itemFromLambda is a stream image as Lambda delivers it
// (events.DynamoDBAttributeValue) in the table's form.
func itemFromLambda(image map[string]events.DynamoDBAttributeValue) map[string]types.AttributeValue {
	if image == nil {
		return nil
	}
	out := make(map[string]types.AttributeValue, len(image))
	for k, v := range image {
		out[k] = fromLambda(v)
	}
	return out
}

func fromLambda(v events.DynamoDBAttributeValue) types.AttributeValue {
	switch v.DataType() {
	case events.DataTypeString:
		return &types.AttributeValueMemberS{Value: v.String()}
	case events.DataTypeNumber:
		return &types.AttributeValueMemberN{Value: v.Number()}
	case events.DataTypeBinary:
		return &types.AttributeValueMemberB{Value: v.Binary()}
	case events.DataTypeBoolean:
		return &types.AttributeValueMemberBOOL{Value: v.Boolean()}
	case events.DataTypeNull:
		return &types.AttributeValueMemberNULL{Value: true}
	case events.DataTypeStringSet:
		return &types.AttributeValueMemberSS{Value: v.StringSet()}
	case events.DataTypeNumberSet:
		return &types.AttributeValueMemberNS{Value: v.NumberSet()}
	case events.DataTypeBinarySet:
		return &types.AttributeValueMemberBS{Value: v.BinarySet()}
	case events.DataTypeList:
		l := make([]types.AttributeValue, len(v.List()))
		for i, e := range v.List() {
			l[i] = fromLambda(e)
		}
		return &types.AttributeValueMemberL{Value: l}
	case events.DataTypeMap:
		return &types.AttributeValueMemberM{Value: itemFromLambda(v.Map())}
	}
	return nil // no other type exists; an item with a nil value reads as without it
}

// noticeFromStreams decodes a record as DynamoDB Streams returns it.
func noticeFromStreams(r streamtypes.Record) (kyc.Notice, error) {
	var image map[string]streamtypes.AttributeValue
	if r.Dynamodb != nil {
		image = r.Dynamodb.NewImage
	}
	return outboxRecord(string(r.EventName), itemFromStreams(image))
}

// itemFromStreams is a stream image as DynamoDB Streams returns it
// (dynamodbstreams types) in the table's form.
func itemFromStreams(image map[string]streamtypes.AttributeValue) map[string]types.AttributeValue {
	if image == nil {
		return nil
	}
	out := make(map[string]types.AttributeValue, len(image))
	for k, v := range image {
		out[k] = fromStreams(v)
	}
	return out
}

func fromStreams(v streamtypes.AttributeValue) types.AttributeValue {
	switch v := v.(type) {
	case *streamtypes.AttributeValueMemberS:
		return &types.AttributeValueMemberS{Value: v.Value}
	case *streamtypes.AttributeValueMemberN:
		return &types.AttributeValueMemberN{Value: v.Value}
	case *streamtypes.AttributeValueMemberB:
		return &types.AttributeValueMemberB{Value: v.Value}
	case *streamtypes.AttributeValueMemberBOOL:
		return &types.AttributeValueMemberBOOL{Value: v.Value}
	case *streamtypes.AttributeValueMemberNULL:
		return &types.AttributeValueMemberNULL{Value: v.Value}
	case *streamtypes.AttributeValueMemberSS:
		return &types.AttributeValueMemberSS{Value: v.Value}
	case *streamtypes.AttributeValueMemberNS:
		return &types.AttributeValueMemberNS{Value: v.Value}
	case *streamtypes.AttributeValueMemberBS:
		return &types.AttributeValueMemberBS{Value: v.Value}
	case *streamtypes.AttributeValueMemberL:
		l := make([]types.AttributeValue, len(v.Value))
		for i, e := range v.Value {
			l[i] = fromStreams(e)
		}
		return &types.AttributeValueMemberL{Value: l}
	case *streamtypes.AttributeValueMemberM:
		return &types.AttributeValueMemberM{Value: itemFromStreams(v.Value)}
	}
	return nil // an unknown member (a newer SDK's): read as without it
}
