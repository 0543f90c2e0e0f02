package webhooks_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	dbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	streamtypes "github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"

	"github.com/grid-kyc/kyc-link/pkg/webhooks"
)

// fakeQueue is a queue in memory with the semantics the worker and the
// relay rely on (SQS's): long polls, visibility timeouts, receive counts,
// receipt handles that change with every receive.
type fakeQueue struct {
	mu      sync.Mutex
	msgs    []*fakeMessage
	serial  int
	refuse  error // Send fails with it while set
	sends   int   // Send calls
	deletes int
}

type fakeMessage struct {
	id, body, receipt string
	visibleAt         time.Time
	receives          int
	deleted           bool
}

var _ webhooks.Queue = (*fakeQueue)(nil)

// fakeReceiveWait is how long a receive waits for a message, as
// awsstore.Queue's does.
const fakeReceiveWait = time.Second

// add queues bodies as they are, with message ids.
func (q *fakeQueue) add(bodies ...string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, b := range bodies {
		q.serial++
		q.msgs = append(q.msgs, &fakeMessage{id: fmt.Sprintf("msg-%d", q.serial), body: b})
	}
}

func (q *fakeQueue) Send(_ context.Context, bodies [][]byte) error {
	q.mu.Lock()
	q.sends++
	err := q.refuse
	q.mu.Unlock()
	if err != nil {
		return err
	}
	for _, b := range bodies {
		q.add(string(b))
	}
	return nil
}

func (q *fakeQueue) Receive(ctx context.Context, limit int, visibility time.Duration) ([]webhooks.Received, error) {
	if limit < 1 || limit > 10 {
		return nil, errors.New("fake queue: a receive asks for 1 to 10 messages, as SQS's")
	}
	end := time.Now().Add(fakeReceiveWait)
	for {
		if out := q.receive(limit, visibility); len(out) > 0 || time.Now().After(end) {
			return out, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
}

func (q *fakeQueue) receive(limit int, visibility time.Duration) []webhooks.Received {
	q.mu.Lock()
	defer q.mu.Unlock()
	var out []webhooks.Received
	now := time.Now()
	for _, m := range q.msgs {
		if len(out) == limit {
			break
		}
		if m.deleted || now.Before(m.visibleAt) {
			continue
		}
		m.receives++
		q.serial++
		m.receipt = fmt.Sprintf("MessageReceiptHandle-%s-%d", m.id, q.serial)
		m.visibleAt = now.Add(visibility.Truncate(time.Second)) // SQS's are whole seconds
		out = append(out, webhooks.Received{ID: m.id, Body: m.body, Receipt: m.receipt, Receives: m.receives})
	}
	return out
}

func (q *fakeQueue) find(receipt string) (*fakeMessage, error) {
	for _, m := range q.msgs {
		if m.receipt == receipt && !m.deleted {
			return m, nil
		}
	}
	return nil, errors.New("fake queue: receipt handle is invalid")
}

func (q *fakeQueue) ChangeVisibility(_ context.Context, receipt string, d time.Duration) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	m, err := q.find(receipt)
	if err != nil {
		return err
	}
	m.visibleAt = time.Now().Add(d.Truncate(time.Second))
	return nil
}

func (q *fakeQueue) Delete(_ context.Context, receipt string) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	m, err := q.find(receipt)
	if err != nil {
		return err
	}
	m.deleted = true
	q.deletes++
	return nil
}

// ids returns the id of every notice queued, in order, once per copy.
func (q *fakeQueue) ids() []string {
	q.mu.Lock()
	defer q.mu.Unlock()
	var out []string
	for _, m := range q.msgs {
		n, err := webhooks.DecodeMessage([]byte(m.body))
		if err != nil {
			out = append(out, "unreadable")
			continue
		}
		out = append(out, n.ID)
	}
	return out
}

// sendCalls is how many Send calls arrived.
func (q *fakeQueue) sendCalls() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.sends
}

// fakeStream is an outbox table's stream with one shard, and the ways a
// real one (or moto's) goes wrong for a reader: an iterator left on a
// discarded copy of the table (moto's rollback: it sees the cancelled
// transaction's record and nothing added after it, and the next record
// takes that record's sequence number), an iterator that expired, records
// trimmed away.
type fakeStream struct {
	mu      sync.Mutex
	arn     string
	table   string
	records []streamtypes.Record
	// era counts rollbacks; an iterator of an earlier era reads the copy
	// its era ended with (discarded[era]).
	era       int
	discarded [][]streamtypes.Record
	events    int
	expire    bool // iterators of an earlier era answer ExpiredIteratorException instead
	trimmed   int  // records before this index are gone
	iters     map[string]fakeIterator
	serial    int
	reads     int // GetRecords calls
	describes int // DescribeStream calls
}

type fakeIterator struct{ era, pos int }

const fakeShard = "shardId-00000001-fake"

var (
	_ webhooks.StreamsAPI       = (*fakeStream)(nil)
	_ webhooks.DescribeTableAPI = (*fakeStream)(nil)
)

func newFakeStream(table string) *fakeStream {
	return &fakeStream{table: table, arn: fmt.Sprintf("arn:aws:dynamodb:us-east-1:123456789012:table/%s/stream/%d", table, time.Now().UnixNano()),
		iters: map[string]fakeIterator{}}
}

// seqBase is the first record's sequence number; they are dense, as moto's.
const seqBase = 1100000000

func seqOf(i int) string { return strconv.Itoa(seqBase + i) }

// insert appends an outbox INSERT for each id.
func (s *fakeStream) insert(ids ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.records = s.append(s.records, ids...)
}

func (s *fakeStream) append(records []streamtypes.Record, ids ...string) []streamtypes.Record {
	for _, id := range ids {
		s.events++
		records = append(records, streamtypes.Record{EventName: streamtypes.OperationTypeInsert, EventID: aws.String(fmt.Sprintf("event-%d", s.events)),
			Dynamodb: &streamtypes.StreamRecord{
				SequenceNumber: aws.String(seqOf(len(records))),
				Keys:           map[string]streamtypes.AttributeValue{"id": &streamtypes.AttributeValueMemberS{Value: id}},
				NewImage: map[string]streamtypes.AttributeValue{
					"id": &streamtypes.AttributeValueMemberS{Value: id}, "platformId": &streamtypes.AttributeValueMemberS{Value: "p"},
					"type": &streamtypes.AttributeValueMemberS{Value: "CUSTOMER.KYC_PENDING"}, "createdAtMs": &streamtypes.AttributeValueMemberN{Value: "1764151872345"},
					"body": &streamtypes.AttributeValueMemberS{Value: `{"id":"` + id + `"}`},
				}}})
	}
	return records
}

// record appends a record of event with image as its new image, keyed by
// its id (whatever its type).
func (s *fakeStream) record(event streamtypes.OperationType, image map[string]streamtypes.AttributeValue) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.events++
	keys := map[string]streamtypes.AttributeValue{}
	if id, ok := image["id"]; ok {
		keys["id"] = id
	}
	s.records = append(s.records, streamtypes.Record{EventName: event, EventID: aws.String(fmt.Sprintf("event-%d", s.events)),
		Dynamodb: &streamtypes.StreamRecord{SequenceNumber: aws.String(seqOf(len(s.records))), Keys: keys, NewImage: image}})
}

// rollback is moto's cancelled transaction: the records of its writes
// (phantoms) are appended to the table's stream, then the table is
// replaced by a copy from before it, and every iterator handed out so far
// reads the discarded one.
func (s *fakeStream) rollback(phantoms ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.discarded = append(s.discarded, s.append(slices.Clone(s.records), phantoms...))
	s.era++
}

func (s *fakeStream) trim(upTo int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.trimmed = upTo
}

func (s *fakeStream) readCalls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reads
}

func (s *fakeStream) describeCalls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.describes
}

func (s *fakeStream) DescribeTable(_ context.Context, in *dynamodb.DescribeTableInput, _ ...func(*dynamodb.Options)) (*dynamodb.DescribeTableOutput, error) {
	if aws.ToString(in.TableName) != s.table {
		return nil, &dbtypes.ResourceNotFoundException{Message: aws.String("no table " + aws.ToString(in.TableName))}
	}
	return &dynamodb.DescribeTableOutput{Table: &dbtypes.TableDescription{LatestStreamArn: aws.String(s.arn)}}, nil
}

func (s *fakeStream) DescribeStream(_ context.Context, in *dynamodbstreams.DescribeStreamInput, _ ...func(*dynamodbstreams.Options)) (*dynamodbstreams.DescribeStreamOutput, error) {
	s.mu.Lock()
	s.describes++
	s.mu.Unlock()
	if aws.ToString(in.StreamArn) != s.arn {
		return nil, &streamtypes.ResourceNotFoundException{Message: aws.String("no stream")}
	}
	return &dynamodbstreams.DescribeStreamOutput{StreamDescription: &streamtypes.StreamDescription{
		StreamArn: in.StreamArn, Shards: []streamtypes.Shard{{ShardId: aws.String(fakeShard)}}}}, nil
}

func (s *fakeStream) GetShardIterator(_ context.Context, in *dynamodbstreams.GetShardIteratorInput, _ ...func(*dynamodbstreams.Options)) (*dynamodbstreams.GetShardIteratorOutput, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if aws.ToString(in.StreamArn) != s.arn || aws.ToString(in.ShardId) != fakeShard {
		return nil, &streamtypes.ResourceNotFoundException{Message: aws.String("no shard")}
	}
	pos := s.trimmed
	switch in.ShardIteratorType {
	case streamtypes.ShardIteratorTypeTrimHorizon:
	case streamtypes.ShardIteratorTypeAtSequenceNumber, streamtypes.ShardIteratorTypeAfterSequenceNumber:
		seq, err := strconv.Atoi(aws.ToString(in.SequenceNumber))
		if err != nil {
			return nil, errors.New("fake stream: bad sequence number")
		}
		if pos = seq - seqBase; in.ShardIteratorType == streamtypes.ShardIteratorTypeAfterSequenceNumber {
			pos++
		}
		if pos < s.trimmed {
			return nil, &streamtypes.TrimmedDataAccessException{Message: aws.String("trimmed")}
		}
	default:
		return nil, fmt.Errorf("fake stream: iterator type %s not supported", in.ShardIteratorType)
	}
	return &dynamodbstreams.GetShardIteratorOutput{ShardIterator: s.iterator(fakeIterator{era: s.era, pos: pos})}, nil
}

func (s *fakeStream) iterator(it fakeIterator) *string {
	s.serial++
	token := fmt.Sprintf("it-%d", s.serial)
	s.iters[token] = it
	return aws.String(token)
}

func (s *fakeStream) GetRecords(_ context.Context, in *dynamodbstreams.GetRecordsInput, _ ...func(*dynamodbstreams.Options)) (*dynamodbstreams.GetRecordsOutput, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reads++
	it, ok := s.iters[aws.ToString(in.ShardIterator)]
	if !ok {
		return nil, errors.New("fake stream: unknown iterator")
	}
	records := s.records
	if it.era < s.era {
		if s.expire {
			return nil, &streamtypes.ExpiredIteratorException{Message: aws.String("expired")}
		}
		records = s.discarded[it.era]
	}
	if it.pos < s.trimmed {
		return nil, &streamtypes.TrimmedDataAccessException{Message: aws.String("trimmed")}
	}
	start := min(it.pos, len(records))
	end := min(len(records), start+3) // a few per read, so a backlog takes several
	out := &dynamodbstreams.GetRecordsOutput{Records: slices.Clone(records[start:end])}
	out.NextShardIterator = s.iterator(fakeIterator{era: it.era, pos: end})
	return out, nil
}
