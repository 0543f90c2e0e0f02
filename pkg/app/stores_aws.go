package app

import (
	"context"
	"log/slog"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/grid-kyc/kyc-link/pkg/awsstore"
	"github.com/grid-kyc/kyc-link/pkg/idempotency"
	"github.com/grid-kyc/kyc-link/pkg/kyc"
	"github.com/grid-kyc/kyc-link/pkg/memstore"
	"github.com/grid-kyc/kyc-link/pkg/ratelimit"
	"github.com/grid-kyc/kyc-link/pkg/secrets"
	"github.com/grid-kyc/kyc-link/pkg/telemetry"
	"github.com/grid-kyc/kyc-link/pkg/webhooks"
)

// customerStores is the one customers store: the link reads it, the
// reviews write it, the platform API keeps it.
type customerStores interface {
	kyc.CustomerRecords
	kyc.ReviewStore
	kyc.OwnerRecords
}

// platformStores is the one platforms store: /config and delivery.
type platformStores interface {
	kyc.PlatformStore
	webhooks.Platforms
}

// stores is every store of one backend, each built once.
type stores struct {
	customers customerStores
	platforms platformStores
	// documents and verifications are the platform API's; in memory
	// both are the customers' map (one lock: a submission is atomic).
	documents     kyc.DocumentRecords
	verifications kyc.VerificationRecords
	// files keeps documents' files: the documents bucket, DOCUMENTS_DIR
	// on make run, memory otherwise.
	files kyc.DocumentFiles
	// direct hands out direct uploads and reads what arrived (the
	// bucket; make run's local receiver; memory in tests), and uploads
	// keeps their records.
	direct       kyc.DirectFiles
	uploads      kyc.UploadRecords
	counters     ratelimit.Counter
	idempotency  idempotency.Store
	sealer       kyc.Sealer
	deadLetters  webhooks.DeadLetters
	contactCodes kyc.ContactCodes
	// email and sms deliver contact codes (nil: not configured, or the
	// memory backend, which sends nothing).
	email, sms kyc.ContactSender
	// platformLimits are platforms' own link limits (nil: every platform
	// has the default).
	platformLimits ratelimit.PlatformLimits
	// warm opens the customers table's connection ahead of the first
	// request (nil in memory).
	warm func(context.Context) error

	// AWS only: the delivery queue, and what the local relay polls.
	queue    webhooks.Queue
	streams  awsstore.StreamsAPI
	dynamodb *dynamodb.Client
	// AWS only: the submission queue (its relay sends, its worker hides
	// a failed job's message for the backoff), and what opens sealed
	// identifiers and tax ids for the provider (the memory backend's
	// sealer opens them itself).
	submissionQueue webhooks.Queue
	opener          kyc.Opener
	// Memory only: the customers whose recorded notices go to the
	// in-process delivery queue.
	memCustomers *memstore.Customers
}

// newAWSStores makes the AWS clients (each once: one connection pool per
// service) and the stores on them, and the Secrets Manager source. It
// reads the SDK's configuration (environment, profile) and calls nothing.
// The clients only some functions use come from the aws_*.go files, which
// a Lambda build of another function leaves out (clients.go).
func newAWSStores(ctx context.Context, cfg Config, logger *slog.Logger, tr *telemetry.Tracing) (*stores, secrets.Source, error) {
	// Every client made from it traces its calls.
	awsCfg, err := awsstore.LoadConfig(ctx, logger, tr.AWSCalls)
	if err != nil {
		return nil, nil, err
	}
	db := dynamodb.NewFromConfig(awsCfg, timeDynamoDB)
	documents := &awsstore.Documents{Client: db, Table: cfg.DocumentsTable, Index: cfg.DocumentsByPlatformIndex}
	customers := &awsstore.Customers{Client: db, Table: cfg.CustomersTable, Index: cfg.CustomersByPlatformIndex, OutboxTable: cfg.OutboxTable,
		VerificationsTable: cfg.VerificationsTable}
	platforms := &awsstore.Platforms{Client: db, Table: cfg.PlatformsTable}
	email, sms := newContactSenders(awsCfg, cfg)
	files, direct := newFiles(awsCfg, cfg)
	queue, submissionQueue := newQueues(awsCfg, cfg)
	// The warm-up saves the first request a TLS handshake; against a
	// plain-HTTP endpoint (moto, make dev) there is none to save, and it
	// would only cost a call.
	warm := customers.Warm
	if e := aws.ToString(db.Options().BaseEndpoint); strings.HasPrefix(e, "http://") {
		warm = nil // the endpoint the DynamoDB client resolved (AWS_ENDPOINT_URL_DYNAMODB too)
	}
	return &stores{
		customers: customers,
		platforms: platforms,
		documents: documents,
		uploads:   documents,
		verifications: &awsstore.Verifications{Client: db, Table: cfg.VerificationsTable,
			ByPlatformIndex: cfg.VerificationsByPlatformIndex, ByCustomerIndex: cfg.VerificationsByCustomerIndex,
			CustomersTable: cfg.CustomersTable, DocumentsTable: cfg.DocumentsTable, OutboxTable: cfg.OutboxTable},
		files:           files,
		direct:          direct,
		platformLimits:  platforms,
		counters:        &awsstore.RateCounters{Client: db, Table: cfg.RateLimitTable},
		idempotency:     &awsstore.Idempotency{Client: db, Table: cfg.IdempotencyTable},
		sealer:          newSealer(awsCfg, cfg),
		deadLetters:     &awsstore.DeadLetters{Client: db, Table: cfg.DeadLetterTable},
		contactCodes:    &awsstore.ContactCodes{Client: db, Table: cfg.ContactCodesTable},
		email:           email,
		sms:             sms,
		warm:            warm,
		queue:           queue,
		streams:         newStreams(awsCfg),
		dynamodb:        db,
		submissionQueue: submissionQueue,
		opener:          newOpener(awsCfg, cfg),
	}, &awsstore.SecretsManager{Client: secretsmanager.NewFromConfig(awsCfg)}, nil
}

// timeDynamoDB records each DynamoDB call's latency in the request's
// metrics.
func timeDynamoDB(o *dynamodb.Options) {
	o.APIOptions = append(o.APIOptions, telemetry.TimeCalls(telemetry.DynamoDBLatency))
}
