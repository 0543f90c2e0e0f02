package awsstore_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	dbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	streamtypes "github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"
	"github.com/google/go-cmp/cmp"

	"github.com/grid-kyc/kyc-link/internal/logbuf"
	"github.com/grid-kyc/kyc-link/pkg/awsstore"
	"github.com/grid-kyc/kyc-link/pkg/webhooks"
)

// poller relays s to q, keeping its checkpoint in dir ("" for the default).
func poller(s *fakeStream, q *fakeQueue, dir string, logs *logbuf.Buffer) *awsstore.StreamPoller {
	return &awsstore.StreamPoller{Streams: s, Tables: s, Table: s.table, Relay: &webhooks.Relay{Queue: q, Logger: logs.Logger()},
		Interval: 5 * time.Millisecond, Logger: logs.Logger(), Dir: dir}
}

// waitQueued waits until every id is in q.
func waitQueued(t *testing.T, q *fakeQueue, ids ...string) {
	t.Helper()
	waitUntil(t, "queued "+strings.Join(ids, ", "), func() bool {
		got := q.ids()
		return !slices.ContainsFunc(ids, func(id string) bool { return !slices.Contains(got, id) })
	})
}

// checkQueued compares what q holds, in order, once per copy.
func checkQueued(t *testing.T, q *fakeQueue, want ...string) {
	t.Helper()
	if diff := cmp.Diff(want, q.ids()); diff != "" {
		t.Fatalf("queued (-want +got):\n%s", diff)
	}
}

// TestRelayResumesAfterARestart: the local relay keeps the last sequence
// number it relayed, in a checkpoint under the user's cache directory, so
// a new process on the same stream sends nothing again and sends once what
// was written while it was stopped. A new stream (a new table, a fresh
// emulator) is read from its start. The records arrive three per read, as
// after a backlog; every shard read returns them in order, so a re-sent
// record would be queued before the new ones.
func TestRelayResumesAfterARestart(t *testing.T) {
	cache := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", cache)
	logs := &logbuf.Buffer{}
	s, q := newFakeStream("outbox"), &fakeQueue{}
	s.insert("Webhook:1", "Webhook:2", "Webhook:3", "Webhook:4")
	stop := run(t, poller(s, q, "", logs).Poll)
	waitQueued(t, q, "Webhook:1", "Webhook:2", "Webhook:3", "Webhook:4")
	stop()

	files, _ := filepath.Glob(filepath.Join(cache, "kyc-link", "relay", "*.json"))
	if len(files) != 1 {
		t.Fatalf("checkpoint files %v; want one under $XDG_CACHE_HOME/kyc-link/relay", files)
	}
	var cp struct {
		StreamARN string
		Shards    map[string]struct{ Seq string }
	}
	if b, err := os.ReadFile(files[0]); err != nil || json.Unmarshal(b, &cp) != nil || cp.StreamARN != s.arn || cp.Shards[fakeShard].Seq != seqOf(3) {
		t.Fatalf("checkpoint %+v (%v); want stream %s at %s", cp, err, s.arn, seqOf(3))
	}

	s.insert("Webhook:5", "Webhook:6")
	stop = run(t, poller(s, q, "", logs).Poll)
	waitQueued(t, q, "Webhook:5", "Webhook:6")
	stop()
	checkQueued(t, q, "Webhook:1", "Webhook:2", "Webhook:3", "Webhook:4", "Webhook:5", "Webhook:6")

	fresh, q2 := newFakeStream("outbox"), &fakeQueue{}
	fresh.insert("Webhook:a")
	stop = run(t, poller(fresh, q2, "", logs).Poll)
	waitQueued(t, q2, "Webhook:a")
	stop()
	checkQueued(t, q2, "Webhook:a")
}

// TestRelayReacquiresAStaleIterator: an iterator that sees nothing new
// forever (moto's, left on the table copy a cancelled transaction
// discarded) or that expired does not strand the relay: it reads again
// from the last record it relayed, sending each record once. moto's
// discarded copy holds the cancelled transaction's record, which the old
// iterator reads and the relay queues (moto's phantom, not ours to tell);
// the next real record takes its sequence number, and is relayed too
// (reading after that number would skip it). After a restart on that
// checkpoint, the same.
func TestRelayReacquiresAStaleIterator(t *testing.T) {
	t.Run("left on a discarded copy", func(t *testing.T) {
		dir, logs := t.TempDir(), &logbuf.Buffer{}
		s, q := newFakeStream("outbox"), &fakeQueue{}
		s.insert("Webhook:1")
		stop := run(t, poller(s, q, dir, logs).Poll)
		waitQueued(t, q, "Webhook:1")
		s.rollback("Webhook:phantom")
		waitQueued(t, q, "Webhook:phantom")
		s.insert("Webhook:2", "Webhook:3")
		waitQueued(t, q, "Webhook:2", "Webhook:3")
		stop()
		checkQueued(t, q, "Webhook:1", "Webhook:phantom", "Webhook:2", "Webhook:3")

		s.rollback("Webhook:phantom-2")
		stop = run(t, poller(s, q, dir, logs).Poll) // its iterators are on the live copy
		s.insert("Webhook:4")
		waitQueued(t, q, "Webhook:4")
		stop()
		checkQueued(t, q, "Webhook:1", "Webhook:phantom", "Webhook:2", "Webhook:3", "Webhook:4")
	})
	t.Run("restarted on the phantom's checkpoint", func(t *testing.T) {
		dir, logs := t.TempDir(), &logbuf.Buffer{}
		s, q := newFakeStream("outbox"), &fakeQueue{}
		s.insert("Webhook:1")
		stop := run(t, poller(s, q, dir, logs).Poll)
		waitQueued(t, q, "Webhook:1")
		s.rollback("Webhook:phantom")
		waitQueued(t, q, "Webhook:phantom")
		stop()
		s.insert("Webhook:2")
		stop = run(t, poller(s, q, dir, logs).Poll)
		waitQueued(t, q, "Webhook:2")
		stop()
		checkQueued(t, q, "Webhook:1", "Webhook:phantom", "Webhook:2")
	})
	t.Run("expired", func(t *testing.T) {
		logs := &logbuf.Buffer{}
		s, q := newFakeStream("outbox"), &fakeQueue{}
		s.expire = true
		s.insert("Webhook:1")
		stop := run(t, poller(s, q, t.TempDir(), logs).Poll)
		waitQueued(t, q, "Webhook:1")
		s.rollback() // every iterator handed out so far expires
		s.insert("Webhook:2", "Webhook:3")
		waitQueued(t, q, "Webhook:2", "Webhook:3")
		stop()
		checkQueued(t, q, "Webhook:1", "Webhook:2", "Webhook:3")
	})
}

// TestRelayIdleReadsStayCheap: an idle shard costs one read per poll and,
// at most once a second, one more from a fresh iterator.
func TestRelayIdleReadsStayCheap(t *testing.T) {
	s, q := newFakeStream("outbox"), &fakeQueue{}
	p := poller(s, q, t.TempDir(), &logbuf.Buffer{})
	p.Interval = 50 * time.Millisecond
	start := time.Now()
	stop := run(t, p.Poll)
	waitUntil(t, "twenty polls", func() bool { return s.describeCalls() >= 20 })
	stop()
	elapsed := time.Since(start)
	// Each poll describes the stream once and reads the shard once.
	polls, reads, probes := s.describeCalls(), s.readCalls(), 1+int(elapsed/time.Second)
	if reads > polls+probes {
		t.Fatalf("%d reads in %d polls over %s; want at most one probe a second (%d)", reads, polls, elapsed, probes)
	}
}

// TestRelayAfterItsCheckpointWasTrimmed: records past the checkpoint that
// the stream dropped before they were relayed cannot be had; the relay
// says so and goes on from the oldest record left.
func TestRelayAfterItsCheckpointWasTrimmed(t *testing.T) {
	dir, logs := t.TempDir(), &logbuf.Buffer{}
	s, q := newFakeStream("outbox"), &fakeQueue{}
	s.insert("Webhook:1", "Webhook:2")
	stop := run(t, poller(s, q, dir, logs).Poll)
	waitQueued(t, q, "Webhook:1", "Webhook:2")
	stop()
	s.insert("Webhook:3", "Webhook:4", "Webhook:5")
	s.trim(4)
	stop = run(t, poller(s, q, dir, logs).Poll)
	waitQueued(t, q, "Webhook:5")
	stop()
	checkQueued(t, q, "Webhook:1", "Webhook:2", "Webhook:5")
	if !strings.Contains(logs.String(), "past the checkpoint were trimmed") {
		t.Fatalf("the trimmed records were not logged:\n%s", logs)
	}
}

// TestRelayCheckpointsOnlyWhatWasSent: records the queue refused are read
// and sent again, in the same process and after a restart.
func TestRelayCheckpointsOnlyWhatWasSent(t *testing.T) {
	dir, logs := t.TempDir(), &logbuf.Buffer{}
	s, q := newFakeStream("outbox"), &fakeQueue{refuse: errors.New("queue down")}
	s.insert("Webhook:1", "Webhook:2")
	stop := run(t, poller(s, q, dir, logs).Poll)
	waitUntil(t, "the relay retried the refused send", func() bool { return q.sendCalls() >= 3 })
	stop()
	q.mu.Lock()
	q.refuse = nil
	q.mu.Unlock()
	stop = run(t, poller(s, q, dir, logs).Poll)
	waitQueued(t, q, "Webhook:1", "Webhook:2")
	stop()
	checkQueued(t, q, "Webhook:1", "Webhook:2")
}

// TestRelayWithoutACheckpoint: a checkpoint that cannot be written is
// warned about once and relaying goes on; one that cannot be read makes
// the relay start again from the stream's start (duplicates, never a
// loss).
func TestRelayWithoutACheckpoint(t *testing.T) {
	t.Run("unwritable", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "not-a-directory")
		if err := os.WriteFile(file, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		logs := &logbuf.Buffer{}
		s, q := newFakeStream("outbox"), &fakeQueue{}
		s.insert("Webhook:1")
		stop := run(t, poller(s, q, filepath.Join(file, "relay"), logs).Poll)
		waitQueued(t, q, "Webhook:1")
		s.insert("Webhook:2")
		waitQueued(t, q, "Webhook:2")
		stop()
		checkQueued(t, q, "Webhook:1", "Webhook:2")
		if n := strings.Count(logs.String(), `"level":"WARN","msg":"outbox stream: checkpoint not saved`); n != 1 {
			t.Fatalf("%d checkpoint warnings; want one:\n%s", n, logs)
		}
	})
	t.Run("unreadable", func(t *testing.T) {
		dir, logs := t.TempDir(), &logbuf.Buffer{}
		s, q := newFakeStream("outbox"), &fakeQueue{}
		s.insert("Webhook:1")
		stop := run(t, poller(s, q, dir, logs).Poll)
		waitQueued(t, q, "Webhook:1")
		stop()
		files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
		for _, f := range files {
			os.WriteFile(f, []byte("{"), 0o600)
		}
		s.insert("Webhook:2")
		stop = run(t, poller(s, q, dir, logs).Poll)
		waitQueued(t, q, "Webhook:2")
		stop()
		checkQueued(t, q, "Webhook:1", "Webhook:1", "Webhook:2")
		if len(files) != 1 || !strings.Contains(logs.String(), "checkpoint unreadable") {
			t.Fatalf("checkpoint files %v; want one, and its loss logged:\n%s", files, logs)
		}
	})
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
	_ awsstore.StreamsAPI       = (*fakeStream)(nil)
	_ awsstore.DescribeTableAPI = (*fakeStream)(nil)
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
