package awsstore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"iter"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	streamtypes "github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"

	"github.com/grid-kyc/kyc-link/pkg/kyc"
	"github.com/grid-kyc/kyc-link/pkg/webhooks"
)

// StreamsAPI is the DynamoDB Streams calls the local stream poller makes.
type StreamsAPI interface {
	DescribeStream(ctx context.Context, in *dynamodbstreams.DescribeStreamInput, opts ...func(*dynamodbstreams.Options)) (*dynamodbstreams.DescribeStreamOutput, error)
	GetShardIterator(ctx context.Context, in *dynamodbstreams.GetShardIteratorInput, opts ...func(*dynamodbstreams.Options)) (*dynamodbstreams.GetShardIteratorOutput, error)
	GetRecords(ctx context.Context, in *dynamodbstreams.GetRecordsInput, opts ...func(*dynamodbstreams.Options)) (*dynamodbstreams.GetRecordsOutput, error)
}

// DescribeTableAPI finds the outbox table's stream.
type DescribeTableAPI interface {
	DescribeTable(ctx context.Context, in *dynamodb.DescribeTableInput, opts ...func(*dynamodb.Options)) (*dynamodb.DescribeTableOutput, error)
}

// StreamPoller is the stand-in for Lambda's stream trigger outside Lambda
// (make dev): it hands new records of the outbox table's stream to the
// same webhooks.Relay (or, with Submissions, those of the verifications
// table's stream to the submission relay) and, as Lambda's event source
// mapping does, keeps per shard the last sequence number it relayed, in a
// checkpoint file per stream, so a restarted process resumes where it
// stopped. A stream without a checkpoint (a new table, a fresh emulator)
// is read from its oldest record. A crash between a relay and its
// checkpoint relays those records again: the notices keep their ids, a
// submission job runs again and finds its verification marked (at least
// once).
type StreamPoller struct {
	Streams  StreamsAPI
	Tables   DescribeTableAPI
	Table    string
	Relay    *webhooks.Relay
	Interval time.Duration
	Logger   *slog.Logger
	// Dir holds the checkpoint files; "" is os.UserCacheDir()/kyc-link/relay.
	Dir string
	// Submissions, when set, makes this the verifications table's poller:
	// each read's records are decoded as SubmissionRecords does Lambda's
	// (the submission job each complete verification's INSERT starts) and
	// the verification ids handed to it (the submission relay's Send)
	// instead of Relay. An error is retried as the relay's is.
	Submissions func(ctx context.Context, verificationIDs []string) error
}

// label names the stream in log lines.
func (p *StreamPoller) label() string {
	if p.Submissions != nil {
		return "verifications stream"
	}
	return "outbox stream"
}

// send hands a read's records to the relay.
func (p *StreamPoller) send(ctx context.Context, records []streamtypes.Record) error {
	if p.Submissions != nil {
		ids := submissionIDs(records)
		if len(ids) == 0 {
			return nil
		}
		return p.Submissions(ctx, ids)
	}
	return p.Relay.SendRecords(ctx, streamNotices(records))
}

// probeEvery bounds how often an idle shard is read once more from a
// fresh iterator (see read).
const probeEvery = time.Second

// shard is the poller's place in one stream shard.
type shard struct {
	id       string
	iterator *string  // the next read; nil: get one at pos
	pos      position // the last record relayed; zero before any
	closed   bool
	probed   time.Time
}

// position is the last record relayed from a shard: its sequence number,
// and its event id, which tells it from another record that later took the
// same number. moto numbers a shard's records by their count, so when
// it rolls back a cancelled transaction whose record a reader already saw
// (on the discarded copy), the next real record gets that number.
type position struct {
	Seq string `json:"seq"`
	Key string `json:"key,omitempty"`
}

// stream is what the poller knows of the outbox stream.
type stream struct {
	arn    string
	shards []*shard
	saved  map[string]position // the checkpoint as loaded, by shard id
	file   string              // the checkpoint; "" when there is nowhere to keep it
	failed bool                // the last checkpoint write failed (warned once)
}

// checkpoint is the file's content.
type checkpoint struct {
	StreamARN string              `json:"streamArn"`
	Shards    map[string]position `json:"shards"` // by shard id
}

// Poll relays until ctx ends.
func (p *StreamPoller) Poll(ctx context.Context) {
	var s *stream
	for ctx.Err() == nil {
		if s == nil {
			out, err := p.Tables.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(p.Table)})
			if err != nil || out.Table.LatestStreamArn == nil {
				p.warn(ctx, p.label()+": not found yet", err)
				pause(ctx, time.Second)
				continue
			}
			s = p.open(ctx, *out.Table.LatestStreamArn)
		}
		if err := p.discover(ctx, s); err != nil {
			p.warn(ctx, p.label()+": describe failed", err)
			var gone *streamtypes.ResourceNotFoundException
			if errors.As(err, &gone) {
				s = nil // the table or its stream was replaced: find the new one
				continue
			}
		}
		for _, sh := range s.shards {
			p.read(ctx, s, sh)
		}
		pause(ctx, p.Interval)
	}
}

// open starts on the stream arn from its checkpoint, if any.
func (p *StreamPoller) open(ctx context.Context, arn string) *stream {
	s := &stream{arn: arn, saved: map[string]position{}}
	dir := p.Dir
	if dir == "" {
		cache, err := os.UserCacheDir()
		if err != nil {
			p.warn(ctx, p.label()+": no cache directory for the checkpoint; a restart relays the stream from its start", err)
			return s
		}
		dir = filepath.Join(cache, "kyc-link", "relay")
	}
	sum := sha256.Sum256([]byte(arn))
	s.file = filepath.Join(dir, fileSafe(p.Table)+"-"+hex.EncodeToString(sum[:8])+".json")
	b, err := os.ReadFile(s.file)
	if errors.Is(err, fs.ErrNotExist) {
		return s
	}
	var cp checkpoint
	if err == nil {
		err = json.Unmarshal(b, &cp)
	}
	if err == nil && cp.StreamARN != arn {
		err = fmt.Errorf("it is for stream %s", cp.StreamARN)
	}
	if err != nil {
		// Re-reading relays duplicates (same ids); skipping could lose one.
		p.warn(ctx, p.label()+": checkpoint unreadable; relaying the stream from its start", fmt.Errorf("%s: %w", s.file, err))
		return s
	}
	maps.Copy(s.saved, cp.Shards)
	p.Logger.InfoContext(ctx, p.label()+": resuming from the checkpoint", "file", s.file, "shards", len(cp.Shards))
	return s
}

func (p *StreamPoller) discover(ctx context.Context, s *stream) error {
	var start *string
	for {
		out, err := p.Streams.DescribeStream(ctx, &dynamodbstreams.DescribeStreamInput{StreamArn: aws.String(s.arn), ExclusiveStartShardId: start})
		if err != nil {
			return err
		}
		for _, sh := range out.StreamDescription.Shards {
			id := aws.ToString(sh.ShardId)
			if !slices.ContainsFunc(s.shards, func(k *shard) bool { return k.id == id }) {
				s.shards = append(s.shards, &shard{id: id, pos: s.saved[id]})
			}
		}
		if start = out.StreamDescription.LastEvaluatedShardId; start == nil {
			return nil
		}
	}
}

// iterator positions sh at its last relayed record (at reports so; the
// caller passes over that record if it is still the same one), or at the
// shard's oldest record before any.
func (p *StreamPoller) iterator(ctx context.Context, s *stream, sh *shard) (it *string, at bool, err error) {
	in := &dynamodbstreams.GetShardIteratorInput{StreamArn: aws.String(s.arn), ShardId: aws.String(sh.id),
		ShardIteratorType: streamtypes.ShardIteratorTypeTrimHorizon}
	if sh.pos.Seq != "" {
		in.ShardIteratorType, in.SequenceNumber = streamtypes.ShardIteratorTypeAtSequenceNumber, aws.String(sh.pos.Seq)
	}
	out, err := p.Streams.GetShardIterator(ctx, in)
	var trimmed *streamtypes.TrimmedDataAccessException
	if sh.pos.Seq != "" && errors.As(err, &trimmed) {
		// The stream dropped records after the checkpoint before they were
		// relayed (a poller stopped longer than the stream keeps them).
		p.warn(ctx, p.label()+": records past the checkpoint were trimmed; relaying from the oldest left", err)
		in.ShardIteratorType, in.SequenceNumber = streamtypes.ShardIteratorTypeTrimHorizon, nil
		out, err = p.Streams.GetShardIterator(ctx, in)
	}
	if err != nil {
		return nil, false, err
	}
	return out.ShardIterator, in.SequenceNumber != nil, nil
}

// read relays sh's next records. When a read finds nothing, the shard is
// read once more (at most every probeEvery) from a fresh iterator at the
// last relayed record: records after it mean the old iterator was left
// behind (moto restores copies of its tables after a cancelled
// transaction, and an iterator on the discarded copy sees nothing new
// forever), so the poller continues from the fresh one. Otherwise it keeps
// the old one: DynamoDB may need several reads to cross an empty stretch.
func (p *StreamPoller) read(ctx context.Context, s *stream, sh *shard) {
	if sh.closed {
		return
	}
	out, err := p.records(ctx, s, sh, sh.iterator)
	if err != nil {
		p.warn(ctx, p.label()+": read failed", err)
		sh.iterator = nil
		return
	}
	if len(out.Records) == 0 && out.NextShardIterator != nil && time.Since(sh.probed) >= probeEvery {
		sh.probed = time.Now()
		probe, err := p.records(ctx, s, sh, nil)
		if err == nil && len(probe.Records) > 0 {
			out = probe
		}
	}
	if len(out.Records) > 0 {
		if err := p.send(ctx, out.Records); err != nil {
			// Not advanced: the next read starts again after the last
			// relayed record.
			p.warn(ctx, p.label()+": relay failed; retrying", err)
			sh.iterator = nil
			return
		}
		last := out.Records[len(out.Records)-1]
		sh.pos = position{Seq: sequence(last), Key: recordKey(last)}
		p.save(ctx, s)
	}
	sh.iterator = out.NextShardIterator
	sh.closed = out.NextShardIterator == nil
}

// records reads from it, or from a fresh iterator when it is nil. An
// expired or trimmed iterator is replaced by a fresh one, once.
func (p *StreamPoller) records(ctx context.Context, s *stream, sh *shard, it *string) (*dynamodbstreams.GetRecordsOutput, error) {
	for fresh := it == nil; ; fresh = true {
		at := false
		if it == nil {
			var err error
			if it, at, err = p.iterator(ctx, s, sh); err != nil {
				return nil, err
			}
		}
		out, err := p.Streams.GetRecords(ctx, &dynamodbstreams.GetRecordsInput{ShardIterator: it})
		var (
			expired *streamtypes.ExpiredIteratorException
			trimmed *streamtypes.TrimmedDataAccessException
		)
		if !fresh && (errors.As(err, &expired) || errors.As(err, &trimmed)) {
			it = nil
			continue
		}
		if err == nil && at && len(out.Records) > 0 && sequence(out.Records[0]) == sh.pos.Seq {
			if recordKey(out.Records[0]) == sh.pos.Key {
				out.Records = out.Records[1:] // relayed already
			} else {
				p.Logger.WarnContext(ctx, p.label()+": the record at the checkpoint is not the one relayed (the emulator rewrote its stream); relaying it",
					"sequence_number", sh.pos.Seq)
			}
		}
		return out, err
	}
}

func sequence(r streamtypes.Record) string {
	if r.Dynamodb == nil {
		return ""
	}
	return aws.ToString(r.Dynamodb.SequenceNumber)
}

// recordKey names a stream record: its event id (unique per record),
// else its event and its item's key.
func recordKey(r streamtypes.Record) string {
	if r.EventID != nil {
		return aws.ToString(r.EventID)
	}
	if r.Dynamodb == nil {
		return string(r.EventName)
	}
	var b strings.Builder
	b.WriteString(string(r.EventName))
	for _, k := range slices.Sorted(maps.Keys(r.Dynamodb.Keys)) {
		v := ""
		switch a := r.Dynamodb.Keys[k].(type) {
		case *streamtypes.AttributeValueMemberS:
			v = a.Value
		case *streamtypes.AttributeValueMemberN:
			v = a.Value
		case *streamtypes.AttributeValueMemberB:
			v = hex.EncodeToString(a.Value)
		}
		fmt.Fprintf(&b, " %s=%q", k, v)
	}
	return b.String()
}

// save writes the checkpoint (a temporary file renamed over the old one,
// so a crash leaves the old or the new one whole). A failure is warned
// about and relaying goes on: a restart then relays duplicates.
func (p *StreamPoller) save(ctx context.Context, s *stream) {
	if s.file == "" {
		return
	}
	cp := checkpoint{StreamARN: s.arn, Shards: map[string]position{}}
	for _, sh := range s.shards {
		if sh.pos.Seq != "" {
			cp.Shards[sh.id] = sh.pos
		}
	}
	err := writeFileAtomic(s.file, cp)
	switch {
	case err != nil && !s.failed:
		p.warn(ctx, p.label()+": checkpoint not saved; a restart relays again what was relayed since", err)
	case err == nil && s.failed:
		p.Logger.InfoContext(ctx, p.label()+": checkpoint saved again", "file", s.file)
	}
	s.failed = err != nil
}

func writeFileAtomic(path string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name()) // a no-op once renamed
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		return fmt.Errorf("webhooks: write checkpoint %s: %w", path, err)
	}
	return nil
}

// fileSafe keeps a table name readable in a file name.
func fileSafe(name string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case 'a' <= r && r <= 'z', 'A' <= r && r <= 'Z', '0' <= r && r <= '9', r == '-', r == '_', r == '.':
			return r
		}
		return '_'
	}, name)
}

func (p *StreamPoller) warn(ctx context.Context, msg string, err error) {
	if err == nil {
		err = errors.New("no stream on the table")
	}
	if ctx.Err() == nil {
		p.Logger.WarnContext(ctx, msg, "error", err.Error())
	}
}

// streamNotices decodes the records of a read, as HandleStream decodes
// Lambda's.
func streamNotices(records []streamtypes.Record) iter.Seq2[kyc.Notice, error] {
	return func(yield func(kyc.Notice, error) bool) {
		for _, r := range records {
			if !yield(noticeFromStreams(r)) {
				return
			}
		}
	}
}

// pause waits d, or less if ctx ends.
func pause(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

// SubmissionRecords reads the verifications table's stream for the
// submission relay (the item format is the store's: VerificationItem).
type SubmissionRecords struct{}

// LambdaRecord is the verification whose submission job rec starts, as
// Lambda hands the record over: an INSERT of a verification
// IN_PROGRESS (a complete verification's write; the event source's
// filter lets only these through). Any other record starts none (false):
// a RESOLVE_ERRORS verification's INSERT, the updates of a review or of
// the job's own mark, and a MODIFY back into IN_PROGRESS, which only the
// provider's applicantPending makes (an on-hold review resumed: the
// provider has the verification already).
func (SubmissionRecords) LambdaRecord(rec events.DynamoDBEventRecord) (string, bool) {
	return submissionRecord(rec.EventName, itemFromLambda(rec.Change.NewImage))
}

func submissionRecord(event string, image map[string]types.AttributeValue) (string, bool) {
	if event != string(streamtypes.OperationTypeInsert) {
		return "", false
	}
	v := VerificationFromItem(image)
	if v.ID == "" || v.Status != kyc.VerificationInProgress {
		return "", false
	}
	return v.ID, true
}

// submissionIDs are the verifications whose jobs a read of the
// verifications stream starts (the local poller's records).
func submissionIDs(records []streamtypes.Record) []string {
	var ids []string
	for _, r := range records {
		var image map[string]streamtypes.AttributeValue
		if r.Dynamodb != nil {
			image = r.Dynamodb.NewImage
		}
		if id, ok := submissionRecord(string(r.EventName), itemFromStreams(image)); ok {
			ids = append(ids, id)
		}
	}
	return ids
}

// PurgeRecords reads the customers table's stream for the purge relay.
type PurgeRecords struct{}

// LambdaRecord is the customer rec removed for good, as Lambda hands the
// record over: a REMOVE of a customer item deleted by the platform (its
// TTL after the deleted retention; the event source's filter lets only
// these through), with the beneficial owners its old image holds (their
// documents are purged with the business's). Any other record (a
// marker's removal, a live item's) names none.
func (PurgeRecords) LambdaRecord(rec events.DynamoDBEventRecord) (platformID, customerID string, ownerIDs []string, ok bool) {
	if rec.EventName != string(streamtypes.OperationTypeRemove) {
		return "", "", nil, false
	}
	old := itemFromLambda(rec.Change.OldImage)
	deleted, _ := old[attrIsDeleted].(*types.AttributeValueMemberBOOL)
	id, platform := str(old, attrID), str(old, attrPlatformID)
	if deleted == nil || !deleted.Value || platform == "" || kyc.CheckCustomerID(id) != nil {
		return "", "", nil, false
	}
	return platform, id, ownerIDsOf(old), true
}
