package webhooks

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	streamtypes "github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"

	"github.com/grid-kyc/kyc-link/pkg/kyc"
)

// StreamsAPI is the DynamoDB Streams calls the local relay makes.
type StreamsAPI interface {
	DescribeStream(ctx context.Context, in *dynamodbstreams.DescribeStreamInput, opts ...func(*dynamodbstreams.Options)) (*dynamodbstreams.DescribeStreamOutput, error)
	GetShardIterator(ctx context.Context, in *dynamodbstreams.GetShardIteratorInput, opts ...func(*dynamodbstreams.Options)) (*dynamodbstreams.GetShardIteratorOutput, error)
	GetRecords(ctx context.Context, in *dynamodbstreams.GetRecordsInput, opts ...func(*dynamodbstreams.Options)) (*dynamodbstreams.GetRecordsOutput, error)
}

// DescribeTableAPI finds the outbox table's stream.
type DescribeTableAPI interface {
	DescribeTable(ctx context.Context, in *dynamodb.DescribeTableInput, opts ...func(*dynamodb.Options)) (*dynamodb.DescribeTableOutput, error)
}

// StreamPoller is the local stand-in for Lambda's stream trigger: it reads
// the outbox table's stream from its oldest record (so a process restarted
// after a crash relays what it had not; notices relayed twice keep their
// id) and hands new records to the same Relay.
type StreamPoller struct {
	Streams  StreamsAPI
	Tables   DescribeTableAPI
	Table    string
	Relay    *Relay
	Interval time.Duration
	Logger   *slog.Logger
}

// Poll relays until ctx ends.
func (p *StreamPoller) Poll(ctx context.Context) {
	iterators := map[string]*string{} // shard -> next iterator; nil once closed
	var arn string
	for ctx.Err() == nil {
		if arn == "" {
			out, err := p.Tables.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(p.Table)})
			if err != nil || out.Table.LatestStreamArn == nil {
				p.warn(ctx, "outbox stream: not found yet", err)
				sleep(ctx, time.Second)
				continue
			}
			arn = *out.Table.LatestStreamArn
		}
		if err := p.discover(ctx, arn, iterators); err != nil {
			p.warn(ctx, "outbox stream: describe failed", err)
		}
		for shard, it := range iterators {
			if it == nil {
				continue
			}
			out, err := p.Streams.GetRecords(ctx, &dynamodbstreams.GetRecordsInput{ShardIterator: it})
			if err != nil {
				p.warn(ctx, "outbox stream: read failed", err)
				continue
			}
			notices := streamNotices(ctx, out.Records, p.Relay)
			err = p.Relay.Send(ctx, notices)
			if err != nil {
				// Not advanced: the same records are read and sent again.
				p.warn(ctx, "outbox stream: relay failed; retrying", err)
				continue
			}
			iterators[shard] = out.NextShardIterator
		}
		sleep(ctx, p.Interval)
	}
}

func (p *StreamPoller) discover(ctx context.Context, arn string, iterators map[string]*string) error {
	out, err := p.Streams.DescribeStream(ctx, &dynamodbstreams.DescribeStreamInput{StreamArn: aws.String(arn)})
	if err != nil {
		return err
	}
	for _, sh := range out.StreamDescription.Shards {
		id := aws.ToString(sh.ShardId)
		if _, known := iterators[id]; known {
			continue
		}
		it, err := p.Streams.GetShardIterator(ctx, &dynamodbstreams.GetShardIteratorInput{
			StreamArn: aws.String(arn), ShardId: sh.ShardId, ShardIteratorType: streamtypes.ShardIteratorTypeTrimHorizon})
		if err != nil {
			return err
		}
		iterators[id] = it.ShardIterator
	}
	return nil
}

func (p *StreamPoller) warn(ctx context.Context, msg string, err error) {
	if err == nil {
		err = errors.New("no stream on the table")
	}
	if ctx.Err() == nil {
		p.Logger.WarnContext(ctx, msg, "error", err.Error())
	}
}

func streamNotices(ctx context.Context, records []streamtypes.Record, relay *Relay) []kyc.Notice {
	var out []kyc.Notice
	for _, r := range records {
		if r.EventName != streamtypes.OperationTypeInsert || r.Dynamodb == nil {
			continue
		}
		img := r.Dynamodb.NewImage
		str := func(k string) string {
			v, _ := img[k].(*streamtypes.AttributeValueMemberS)
			if v == nil {
				return ""
			}
			return v.Value
		}
		num, _ := img["createdAtMs"].(*streamtypes.AttributeValueMemberN)
		if num == nil || str("id") == "" {
			relay.skip(ctx, fmt.Errorf("outbox record %q without id or createdAtMs", str("id")))
			continue
		}
		ms, err := strconv.ParseInt(num.Value, 10, 64)
		if err != nil {
			relay.skip(ctx, fmt.Errorf("outbox record %s: createdAtMs: %w", str("id"), err))
			continue
		}
		out = append(out, kyc.Notice{ID: str("id"), PlatformID: str("platformId"), Type: str("type"),
			CreatedAt: time.UnixMilli(ms).UTC(), Body: []byte(str("body"))})
	}
	return out
}

// MemoryQueue delivers notices in process, for local runs on the memory
// backend: the same Deliverer and Policy as the queue worker, with timers
// in place of the queue's visibility timeout. Notices in it do not survive
// the process; the DynamoDB outbox is what makes delivery durable.
type MemoryQueue struct {
	Context        context.Context // ends the retries
	Deliverer      *Deliverer
	Policy         Policy
	DeadLetters    DeadLetters
	AttemptTimeout time.Duration
	Now            func() time.Time
	Logger         *slog.Logger
}

// Enqueue starts delivering n.
func (q *MemoryQueue) Enqueue(n kyc.Notice) { go q.attempt(n, 1) }

func (q *MemoryQueue) attempt(n kyc.Notice, k int) {
	if q.Context.Err() != nil {
		return
	}
	ctx, cancel := context.WithTimeout(q.Context, q.AttemptTimeout)
	outcome, err := q.Deliverer.Deliver(ctx, n)
	cancel()
	log := q.Logger.With("webhook_id", n.ID, "platform_id", n.PlatformID, "type", n.Type, "attempt", k)
	switch {
	case outcome == Delivered:
		log.Info("webhook delivered")
	case outcome == Dropped:
		log.Warn("webhook dropped: the platform has no webhook URL")
	case q.Policy.Expired(n.CreatedAt, q.Now()):
		log.Error("webhook given up; dead-lettered", "error", err.Error())
		q.DeadLetters.Put(q.Context, DeadLetter{Notice: n, Attempts: k, LastError: err.Error(), DeadAt: q.Now()})
	default:
		wait := q.Policy.Backoff(k)
		log.Warn("webhook attempt failed; retrying", "retry_in", wait.String(), "error", err.Error())
		time.AfterFunc(wait, func() { q.attempt(n, k+1) })
	}
}
