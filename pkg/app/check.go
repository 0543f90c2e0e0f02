//go:build !lambda_link && !lambda_platform && !lambda_receiver && !lambda_relay && !lambda_delivery && !lambda_submit

package app

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	sestypes "github.com/aws/aws-sdk-go-v2/service/sesv2/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"

	"github.com/grid-kyc/kyc-link/pkg/auth"
	"github.com/grid-kyc/kyc-link/pkg/awsstore"
	"github.com/grid-kyc/kyc-link/pkg/gridhook"
	"github.com/grid-kyc/kyc-link/pkg/kyc"
	"github.com/grid-kyc/kyc-link/pkg/sumsub"
)

// CheckResult is one line of the deployment check.
type CheckResult struct {
	Item   string
	OK     bool
	Detail string // what is wrong, and the fix; or what was found
}

func (r CheckResult) String() string {
	state := "PASS"
	if !r.OK {
		state = "FAIL"
	}
	return fmt.Sprintf("%s  %-34s %s", state, r.Item, r.Detail)
}

// tableSpec is what the code expects of a table.
type tableSpec struct {
	env, name, key, ttl string
	sort                string // the sort key ("" for none)
	stream              bool
	streamView          types.StreamViewType // when set, the view the stream must have
	streamReader        string               // who reads the stream (the failure names it)
	index               string               // the customers table's by-platform index
	indexes             []indexSpec          // the documents' and verifications' indexes
}

// indexSpec is an index a list reads: partition key hash, sort key
// position (kyc.ListPosition), both S, every attribute projected.
type indexSpec struct{ env, name, hash string }

// Check verifies a deployment as the functions will use it (kyc-link
// -check, make check): each secret loads and is in its format, each table
// exists with its keys, TTL and stream, the customers, documents and
// verifications tables have the platform API's indexes, the customer data
// key is usable, the documents' bucket encrypts with a KMS key of its
// own, the webhook queue exists, the submission queue is set up as its
// worker needs (redrive to an empty dead-letter queue), and Sumsub
// accepts the credentials (one signed, harmless request). It reads the
// same environment as the functions.
func Check(ctx context.Context, cfg Config) []CheckResult {
	awsCfg, err := config.LoadDefaultConfig(ctx)
	if err != nil || awsCfg.Region == "" {
		return []CheckResult{{Item: "AWS configuration", Detail: fmt.Sprintf("no usable AWS configuration (set AWS_REGION and credentials): %v", err)}}
	}
	var out []CheckResult
	add := func(item string, err error, ok string) {
		if err != nil {
			out = append(out, CheckResult{Item: item, Detail: err.Error()})
			return
		}
		out = append(out, CheckResult{Item: item, OK: true, Detail: ok})
	}
	src := &awsstore.SecretsManager{Client: secretsmanager.NewFromConfig(awsCfg)}
	read := func(id string) (string, error) {
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		return src.SecretString(ctx, id)
	}

	s, err := read(cfg.APITokensSecretID)
	if err == nil {
		var tokens auth.Tokens
		if tokens, err = auth.ParseTokens(s); err == nil {
			add("secret "+cfg.APITokensSecretID, nil, fmt.Sprintf("%d API tokens", len(tokens)))
		}
	}
	if err != nil {
		add("secret "+cfg.APITokensSecretID, fmt.Errorf("API_TOKENS_SECRET_ID: %w", err), "")
	}

	creds, err := func() (sumsub.Credentials, error) {
		s, err := read(cfg.SumsubSecretID)
		if err != nil {
			return sumsub.Credentials{}, err
		}
		return sumsub.ParseCredentials(s)
	}()
	switch {
	case err != nil:
		add("secret "+cfg.SumsubSecretID, fmt.Errorf("SUMSUB_SECRET_ID: %w", err), "")
	case creds.WebhookSecret == "":
		add("secret "+cfg.SumsubSecretID, fmt.Errorf("no webhookSecret: the Sumsub webhook receiver will refuse every event (add the secret of the webhook registered in Sumsub)"), "")
	default:
		add("secret "+cfg.SumsubSecretID, nil, "appToken, secretKey and webhookSecret")
		client := &sumsub.Client{BaseURL: cfg.SumsubBaseURL, HTTP: newHTTPClient(nil), Now: time.Now} // check is not traced
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := client.CheckCredentials(cctx, creds)
		cancel()
		add("Sumsub credentials", err, "a signed request to "+cfg.SumsubBaseURL+" was accepted")
	}

	s, err = read(cfg.SigningKeySecretID)
	if err == nil {
		_, err = gridhook.ParseSigningSecret(s)
	}
	add("secret "+cfg.SigningKeySecretID, err, "a P-256 signing key")

	for _, k := range []struct{ env, id, what string }{
		{"CURSOR_KEY_SECRET_ID", cfg.CursorKeySecretID, "a cursor key"},
		{"IDEMPOTENCY_KEY_SECRET_ID", cfg.IdempotencyKeySecretID, "an idempotency key"},
		{"CONTACT_CODE_KEY_SECRET_ID", cfg.ContactCodeKeySecretID, "a contact code key"},
	} {
		s, err := read(k.id)
		if err == nil {
			_, err = parseHMACKey(s) // the functions' own reading (root.go)
		}
		if err != nil {
			err = fmt.Errorf("%s: %w", k.env, err)
		}
		add("secret "+k.id, err, k.what)
	}

	kctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	detail, err := checkKey(kctx, kms.NewFromConfig(awsCfg), cfg.CustomerDataKeyID)
	cancel()
	add("KMS key "+cfg.CustomerDataKeyID, err, detail)

	db := dynamodb.NewFromConfig(awsCfg)
	for _, t := range []tableSpec{
		{env: "CUSTOMERS_TABLE", name: cfg.CustomersTable, key: "id", ttl: "expiresAt", index: cfg.CustomersByPlatformIndex},
		{env: "IDEMPOTENCY_TABLE", name: cfg.IdempotencyTable, key: "pk", ttl: "expiresAt"},
		{env: "RATE_LIMIT_TABLE", name: cfg.RateLimitTable, key: "pk", ttl: "expiresAt"},
		{env: "PLATFORMS_TABLE", name: cfg.PlatformsTable, key: "id"},
		{env: "WEBHOOK_OUTBOX_TABLE", name: cfg.OutboxTable, key: "id", ttl: "expiresAt", stream: true,
			streamReader: "the webhook relay reads it (StreamViewType NEW_IMAGE)"},
		{env: "WEBHOOK_DEAD_LETTER_TABLE", name: cfg.DeadLetterTable, key: "id"},
		{env: "CONTACT_CODES_TABLE", name: cfg.ContactCodesTable, key: "pk", ttl: "expiresAt"},
		{env: "DOCUMENTS_TABLE", name: cfg.DocumentsTable, key: "pk", sort: "sk",
			indexes: []indexSpec{{"DOCUMENTS_BY_PLATFORM_INDEX", cfg.DocumentsByPlatformIndex, "platformId"}}},
		{env: "VERIFICATIONS_TABLE", name: cfg.VerificationsTable, key: "id", stream: true, streamView: types.StreamViewTypeNewAndOldImages,
			streamReader: "the submission worker reads it (StreamViewType NEW_AND_OLD_IMAGES)",
			indexes: []indexSpec{{"VERIFICATIONS_BY_PLATFORM_INDEX", cfg.VerificationsByPlatformIndex, "platformId"},
				{"VERIFICATIONS_BY_CUSTOMER_INDEX", cfg.VerificationsByCustomerIndex, "customerId"}}},
	} {
		ok := "key " + t.key
		if t.sort != "" {
			ok += ", sort key " + t.sort
		}
		if t.index != "" {
			ok += ", index " + t.index
		}
		for _, ix := range t.indexes {
			ok += ", index " + ix.name
		}
		add("table "+t.name, checkTable(ctx, db, t), ok)
	}

	bctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	detail, err = checkBucket(bctx, s3.NewFromConfig(awsCfg), cfg.DocumentsBucket)
	cancel()
	add("bucket "+cfg.DocumentsBucket, err, detail)

	ectx, cancel := context.WithTimeout(ctx, 10*time.Second)
	detail, err = checkEmailSender(ectx, sesv2.NewFromConfig(awsCfg), cfg)
	cancel()
	add("email sender", err, detail)

	sq := sqs.NewFromConfig(awsCfg)
	if cfg.WebhookQueueURL == "" {
		add("queue", fmt.Errorf("WEBHOOK_QUEUE_URL is not set"), "")
	} else {
		_, err := sq.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(cfg.WebhookQueueURL)})
		add("queue "+cfg.WebhookQueueURL, err, "exists")
	}

	qctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	detail, dlq, err := checkSubmissionQueue(qctx, sq, cfg.SubmissionQueueURL)
	add("submission queue "+cfg.SubmissionQueueURL, err, detail)
	if dlq != "" {
		detail, err = checkSubmissionDeadLetters(qctx, sq, dlq)
		add("submission dead-letter queue "+dlq, err, detail)
	}
	cancel()
	return out
}

// The submission queue's settings the pipeline relies on
// (template.yaml, SubmissionQueue; docs/reliability.md).
const (
	// submissionMinVisibility is six times VerificationSubmitFunction's
	// Timeout (120 s), as Lambda advises for an SQS event source: a
	// message is not handed out again while an invocation may still run
	// its job.
	submissionMinVisibility = 720
	// submissionDeadLetterRetention is how long a dead-lettered job waits
	// for its redrive: SQS's longest, 14 days.
	submissionDeadLetterRetention = 1209600
)

// checkSubmissionQueue: SUBMISSION_QUEUE_URL names a queue that is
// encrypted, hides a message long enough, and has a redrive policy to a
// dead-letter queue after a few receipts; dlq is that queue's ARN
// ("" when there is none to check).
func checkSubmissionQueue(ctx context.Context, sq *sqs.Client, url string) (detail, dlq string, err error) {
	if url == "" {
		return "", "", errors.New("SUBMISSION_QUEUE_URL is not set: no complete verification reaches the provider (template.yaml wires SubmissionQueue)")
	}
	out, err := sq.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(url),
		AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameAll}})
	if err != nil {
		return "", "", fmt.Errorf("SUBMISSION_QUEUE_URL: %w", err)
	}
	a := out.Attributes
	var redrive struct {
		DeadLetterTargetArn string          `json:"deadLetterTargetArn"`
		MaxReceiveCount     json.RawMessage `json:"maxReceiveCount"` // a number, or a string of one
	}
	_ = json.Unmarshal([]byte(a["RedrivePolicy"]), &redrive)
	receives, _ := strconv.Atoi(strings.Trim(string(redrive.MaxReceiveCount), `"`))
	visibility, _ := strconv.Atoi(a["VisibilityTimeout"])
	switch {
	case redrive.DeadLetterTargetArn == "":
		return "", "", errors.New("SUBMISSION_QUEUE_URL: no redrive policy: a job that always fails would be retried until it expires (14 days), unseen; want SubmissionDeadLetterQueue after 10 receipts")
	case receives < 2:
		return "", redrive.DeadLetterTargetArn, fmt.Errorf("SUBMISSION_QUEUE_URL: maxReceiveCount %s: one failed attempt (a Sumsub outage) would dead-letter the job; want 10", redrive.MaxReceiveCount)
	case visibility < submissionMinVisibility:
		return "", redrive.DeadLetterTargetArn, fmt.Errorf("SUBMISSION_QUEUE_URL: visibility timeout %d s; want at least %d s (six times the function's 120 s), or a job still running is handed out again",
			visibility, submissionMinVisibility)
	case !encrypted(a):
		return "", redrive.DeadLetterTargetArn, errors.New("SUBMISSION_QUEUE_URL: not encrypted at rest (SqsManagedSseEnabled or a KMS key)")
	}
	return fmt.Sprintf("visibility %d s, encrypted, dead letters after %d receipts", visibility, receives), redrive.DeadLetterTargetArn, nil
}

// checkSubmissionDeadLetters: the submission's dead-letter queue (its ARN)
// exists, is encrypted, keeps a message 14 days, and is empty: a job in it
// is a verification Sumsub does not have.
func checkSubmissionDeadLetters(ctx context.Context, sq *sqs.Client, arn string) (string, error) {
	parts := strings.Split(arn, ":") // arn:aws:sqs:<region>:<account>:<name>
	if len(parts) != 6 {
		return "", fmt.Errorf("SUBMISSION_QUEUE_URL's dead-letter queue %q is no queue ARN", arn)
	}
	u, err := sq.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(parts[5]), QueueOwnerAWSAccountId: aws.String(parts[4])})
	if err != nil {
		return "", fmt.Errorf("SUBMISSION_QUEUE_URL's dead-letter queue: %w", err)
	}
	out, err := sq.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: u.QueueUrl,
		AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameAll}})
	if err != nil {
		return "", fmt.Errorf("SUBMISSION_QUEUE_URL's dead-letter queue: %w", err)
	}
	a := out.Attributes
	retention, _ := strconv.Atoi(a["MessageRetentionPeriod"])
	waiting, _ := strconv.Atoi(a["ApproximateNumberOfMessages"])
	switch {
	case retention < submissionDeadLetterRetention:
		return "", fmt.Errorf("the submission's dead-letter queue keeps a job %d s; want %d (14 days) to fix the cause and redrive it", retention, submissionDeadLetterRetention)
	case !encrypted(a):
		return "", errors.New("the submission's dead-letter queue is not encrypted at rest (SqsManagedSseEnabled or a KMS key)")
	case waiting > 0:
		return "", fmt.Errorf("%d submission jobs are dead-lettered: their verifications are not with the provider; fix the cause (their log lines, msg \"submission\"), then aws sqs start-message-move-task --source-arn %s (docs/reliability.md)",
			waiting, arn)
	}
	return "encrypted, kept 14 days, empty", nil
}

// encrypted: a queue's attributes say it is encrypted at rest.
func encrypted(a map[string]string) bool {
	return a["SqsManagedSseEnabled"] == "true" || a["KmsMasterKeyId"] != ""
}

func checkTable(ctx context.Context, db *dynamodb.Client, t tableSpec) error {
	out, err := db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(t.name)})
	if err != nil {
		return fmt.Errorf("%s=%s: %w", t.env, t.name, err)
	}
	var hash, sort string
	for _, k := range out.Table.KeySchema {
		switch k.KeyType {
		case types.KeyTypeHash:
			hash = aws.ToString(k.AttributeName)
		case types.KeyTypeRange:
			sort = aws.ToString(k.AttributeName)
		}
	}
	switch {
	case t.sort == "" && (hash != t.key || len(out.Table.KeySchema) != 1):
		return fmt.Errorf("%s=%s: partition key %q (and %d keys); want only %q (S)", t.env, t.name, hash, len(out.Table.KeySchema), t.key)
	case t.sort != "" && (hash != t.key || sort != t.sort):
		return fmt.Errorf("%s=%s: partition key %q, sort key %q; want %q and %q (S)", t.env, t.name, hash, sort, t.key, t.sort)
	}
	if t.stream {
		st := out.Table.StreamSpecification
		if st == nil || !aws.ToBool(st.StreamEnabled) || t.streamView != "" && st.StreamViewType != t.streamView {
			return fmt.Errorf("%s=%s: no stream; %s", t.env, t.name, t.streamReader)
		}
	}
	if t.index != "" {
		if err := checkCustomersIndex(out.Table, t.index); err != nil {
			return fmt.Errorf("%s=%s: %w", t.env, t.name, err)
		}
	}
	for _, ix := range t.indexes {
		if err := checkListIndex(out.Table, ix); err != nil {
			return fmt.Errorf("%s=%s: %w", t.env, t.name, err)
		}
	}
	if t.ttl != "" {
		ttl, err := db.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: aws.String(t.name)})
		if err != nil {
			return fmt.Errorf("%s=%s: TTL: %w", t.env, t.name, err)
		}
		d := ttl.TimeToLiveDescription
		if d == nil || aws.ToString(d.AttributeName) != t.ttl ||
			(d.TimeToLiveStatus != types.TimeToLiveStatusEnabled && d.TimeToLiveStatus != types.TimeToLiveStatusEnabling) {
			return fmt.Errorf("%s=%s: TTL is not enabled on %q (records would never expire)", t.env, t.name, t.ttl)
		}
	}
	return nil
}

// checkCustomersIndex: the customers table has the by-platform index the
// platform API lists through (pkg/awsstore): partition key platformId and
// sort key createdKey, both S, every attribute projected, and it is ready
// (an index added to a table with items backfills first).
func checkCustomersIndex(table *types.TableDescription, name string) error {
	attrType := map[string]types.ScalarAttributeType{}
	for _, a := range table.AttributeDefinitions {
		attrType[aws.ToString(a.AttributeName)] = a.AttributeType
	}
	for _, ix := range table.GlobalSecondaryIndexes {
		if aws.ToString(ix.IndexName) != name {
			continue
		}
		var hash, sort string
		for _, k := range ix.KeySchema {
			switch k.KeyType {
			case types.KeyTypeHash:
				hash = aws.ToString(k.AttributeName)
			case types.KeyTypeRange:
				sort = aws.ToString(k.AttributeName)
			}
		}
		switch {
		case hash != "platformId" || sort != "createdKey" || attrType[hash] != types.ScalarAttributeTypeS || attrType[sort] != types.ScalarAttributeTypeS:
			return fmt.Errorf("index CUSTOMERS_BY_PLATFORM_INDEX=%s: keys %q (%s), %q (%s); want partition key platformId (S), sort key createdKey (S)",
				name, hash, attrType[hash], sort, attrType[sort])
		case ix.Projection == nil || ix.Projection.ProjectionType != types.ProjectionTypeAll:
			return fmt.Errorf("index CUSTOMERS_BY_PLATFORM_INDEX=%s: not every attribute is projected (want ProjectionType ALL): a list answers whole customers", name)
		case ix.IndexStatus != "" && ix.IndexStatus != types.IndexStatusActive:
			return fmt.Errorf("index CUSTOMERS_BY_PLATFORM_INDEX=%s is %s (an index added to a table with items backfills first; GET /customers fails until it is ACTIVE)", name, ix.IndexStatus)
		}
		return nil
	}
	return fmt.Errorf("no index CUSTOMERS_BY_PLATFORM_INDEX=%s; GET /customers lists through it (template.yaml, CustomersTable)", name)
}

// checkListIndex: a table has the index a list reads (pkg/awsstore):
// partition key ix.hash and sort key position, both S, every attribute
// projected, and it is ready.
func checkListIndex(table *types.TableDescription, ix indexSpec) error {
	attrType := map[string]types.ScalarAttributeType{}
	for _, a := range table.AttributeDefinitions {
		attrType[aws.ToString(a.AttributeName)] = a.AttributeType
	}
	for _, g := range table.GlobalSecondaryIndexes {
		if aws.ToString(g.IndexName) != ix.name {
			continue
		}
		var hash, sort string
		for _, k := range g.KeySchema {
			switch k.KeyType {
			case types.KeyTypeHash:
				hash = aws.ToString(k.AttributeName)
			case types.KeyTypeRange:
				sort = aws.ToString(k.AttributeName)
			}
		}
		switch {
		case hash != ix.hash || sort != "position" || attrType[hash] != types.ScalarAttributeTypeS || attrType[sort] != types.ScalarAttributeTypeS:
			return fmt.Errorf("index %s=%s: keys %q (%s), %q (%s); want partition key %s (S), sort key position (S)",
				ix.env, ix.name, hash, attrType[hash], sort, attrType[sort], ix.hash)
		case g.Projection == nil || g.Projection.ProjectionType != types.ProjectionTypeAll:
			return fmt.Errorf("index %s=%s: not every attribute is projected (want ProjectionType ALL): a list answers whole records", ix.env, ix.name)
		case g.IndexStatus != "" && g.IndexStatus != types.IndexStatusActive:
			return fmt.Errorf("index %s=%s is %s (an index added to a table with items backfills first; its list fails until it is ACTIVE)", ix.env, ix.name, g.IndexStatus)
		}
		return nil
	}
	return fmt.Errorf("no index %s=%s; a list reads through it (template.yaml)", ix.env, ix.name)
}

// checkBucket: the documents' bucket exists and encrypts by default with
// a KMS key of its own (the stack's DocumentsKey): no request of the
// code names an encryption, so the default is the documents'.
func checkBucket(ctx context.Context, c *s3.Client, bucket string) (string, error) {
	out, err := c.GetBucketEncryption(ctx, &s3.GetBucketEncryptionInput{Bucket: aws.String(bucket)})
	var api smithy.APIError
	switch {
	case errors.As(err, &api) && api.ErrorCode() == "ServerSideEncryptionConfigurationNotFoundError":
		return "", fmt.Errorf("DOCUMENTS_BUCKET=%s: no default encryption; want aws:kms with the stack's DocumentsKey (template.yaml, DocumentsBucket)", bucket)
	case err != nil:
		return "", fmt.Errorf("DOCUMENTS_BUCKET=%s: %w", bucket, err)
	}
	for _, r := range out.ServerSideEncryptionConfiguration.Rules {
		def := r.ApplyServerSideEncryptionByDefault
		if def == nil {
			continue
		}
		if def.SSEAlgorithm != s3types.ServerSideEncryptionAwsKms {
			return "", fmt.Errorf("DOCUMENTS_BUCKET=%s: default encryption %s; want aws:kms with the stack's DocumentsKey (documents' files are personal data)", bucket, def.SSEAlgorithm)
		}
		if aws.ToString(def.KMSMasterKeyID) == "" {
			return "", fmt.Errorf("DOCUMENTS_BUCKET=%s: default encryption aws:kms without a key, so the account's aws/s3 key, which any principal of the account with S3 access may use; want the stack's DocumentsKey", bucket)
		}
		detail := "default encryption aws:kms with " + aws.ToString(def.KMSMasterKeyID)
		if aws.ToBool(r.BucketKeyEnabled) {
			detail += ", bucket key"
		}
		return detail, nil
	}
	return "", fmt.Errorf("DOCUMENTS_BUCKET=%s: no default encryption rule; want aws:kms with the stack's DocumentsKey", bucket)
}

// checkEmailSender: codes can be emailed. Without CONTACT_EMAIL_FROM that
// is a failure only where the rules require email; with it, the address's
// SES identity (the address, else its domain) is verified for sending and
// the configuration set, when named, exists. An account still in SES's
// sandbox passes, with a warning: it reaches verified recipients only.
func checkEmailSender(ctx context.Context, ses *sesv2.Client, cfg Config) (string, error) {
	if cfg.ContactEmailFrom == "" {
		if len(cfg.ContactRules.Regions) > 0 && slices.Contains(cfg.ContactRules.Channels, kyc.ChannelEmail) {
			return "", fmt.Errorf("CONTACT_EMAIL_FROM is not set: verify-email answers 500 for customers of %s; set the stack parameter ContactEmailFrom to an address of a verified SES identity",
				strings.Join(cfg.ContactRules.Regions, ","))
		}
		return "not needed: no region requires email verification", nil
	}
	// The role may send only through this identity (template.yaml).
	identity := cmp.Or(cfg.ContactEmailIdentity, cfg.ContactEmailFrom)
	_, domain, _ := strings.Cut(cfg.ContactEmailFrom, "@")
	out, err := ses.GetEmailIdentity(ctx, &sesv2.GetEmailIdentityInput{EmailIdentity: aws.String(identity)})
	var nf *sestypes.NotFoundException
	switch {
	case errors.As(err, &nf) && identity != domain:
		if d, derr := ses.GetEmailIdentity(ctx, &sesv2.GetEmailIdentityInput{EmailIdentity: aws.String(domain)}); derr == nil && verifiedForSending(d) {
			return "", fmt.Errorf("CONTACT_EMAIL_FROM=%s: the domain %s is the verified SES identity, but the role may send only through %s: deploy with ContactEmailIdentity=%s",
				cfg.ContactEmailFrom, domain, identity, domain)
		}
		fallthrough
	case errors.As(err, &nf):
		return "", fmt.Errorf("CONTACT_EMAIL_FROM=%s: no SES identity %s in this region (create and verify one: aws sesv2 create-email-identity --email-identity %s)", cfg.ContactEmailFrom, identity, identity)
	case err != nil:
		return "", fmt.Errorf("CONTACT_EMAIL_FROM=%s: SES identity %s: %w", cfg.ContactEmailFrom, identity, err)
	case !verifiedForSending(out):
		return "", fmt.Errorf("CONTACT_EMAIL_FROM=%s: the SES identity %s is not verified for sending (finish its verification: DNS records for a domain, the link SES mailed for an address)", cfg.ContactEmailFrom, identity)
	case identity != cfg.ContactEmailFrom && identity != domain:
		return "", fmt.Errorf("CONTACT_EMAIL_FROM=%s is not in the SES identity %s (CONTACT_EMAIL_IDENTITY)", cfg.ContactEmailFrom, identity)
	case aws.ToString(out.ConfigurationSetName) != "" && aws.ToString(out.ConfigurationSetName) != cfg.ContactEmailConfigurationSet:
		// SES authorises a send against the identity's default set too.
		return "", fmt.Errorf("CONTACT_EMAIL_FROM=%s: the identity %s sends with its default configuration set %s, which the role may not use: deploy with ContactEmailConfigurationSet=%s",
			cfg.ContactEmailFrom, identity, aws.ToString(out.ConfigurationSetName), aws.ToString(out.ConfigurationSetName))
	}
	verified := identity
	if cfg.ContactEmailConfigurationSet != "" {
		if _, err := ses.GetConfigurationSet(ctx, &sesv2.GetConfigurationSetInput{ConfigurationSetName: aws.String(cfg.ContactEmailConfigurationSet)}); err != nil {
			return "", fmt.Errorf("CONTACT_EMAIL_CONFIGURATION_SET=%s: %w", cfg.ContactEmailConfigurationSet, err)
		}
	}
	detail := "from " + cfg.ContactEmailFrom + ", SES identity " + verified + " verified"
	if acct, err := ses.GetAccount(ctx, &sesv2.GetAccountInput{}); err == nil && !acct.ProductionAccessEnabled {
		detail += "; the account is in the SES sandbox: only verified recipients get codes (request production access)"
	}
	return detail, nil
}

// verifiedForSending: SES reports the identity verified. VerificationStatus
// too: moto 5 leaves VerifiedForSendingStatus false on identities it
// reports verified.
func verifiedForSending(out *sesv2.GetEmailIdentityOutput) bool {
	return out.VerifiedForSendingStatus || out.VerificationStatus == sestypes.VerificationStatusSuccess
}

// checkKey: the key that seals identifiers and tax ids exists, is enabled,
// is a symmetric encryption key and rotates. The check cannot try Encrypt
// (the stack's key policy grants it to the platform API's role alone).
func checkKey(ctx context.Context, k *kms.Client, id string) (string, error) {
	out, err := k.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(id)})
	if err != nil {
		return "", fmt.Errorf("CUSTOMER_DATA_KEY_ID: %w", err)
	}
	m := out.KeyMetadata
	switch {
	case m.KeyState != kmstypes.KeyStateEnabled:
		return "", fmt.Errorf("CUSTOMER_DATA_KEY_ID: the key is %s; POST /customers with an identifier fails until it is Enabled", m.KeyState)
	case m.KeyUsage != kmstypes.KeyUsageTypeEncryptDecrypt || m.KeySpec != kmstypes.KeySpecSymmetricDefault:
		return "", fmt.Errorf("CUSTOMER_DATA_KEY_ID: a %s %s key; want a symmetric encryption key (SYMMETRIC_DEFAULT, ENCRYPT_DECRYPT)", m.KeySpec, m.KeyUsage)
	}
	rot, err := k.GetKeyRotationStatus(ctx, &kms.GetKeyRotationStatusInput{KeyId: m.KeyId})
	if err != nil {
		return "", fmt.Errorf("CUSTOMER_DATA_KEY_ID: rotation status: %w", err)
	}
	if !rot.KeyRotationEnabled {
		return "", fmt.Errorf("CUSTOMER_DATA_KEY_ID: automatic rotation is off (aws kms enable-key-rotation --key-id %s)", aws.ToString(m.KeyId))
	}
	return "enabled, symmetric, rotating (" + aws.ToString(m.KeyId) + ")", nil
}

// CheckMain is kyc-link -check (make check): it verifies a deployment's
// secrets, tables, queue and Sumsub credentials from the same environment
// the functions read, prints a line per item and returns the exit code: 1
// if any item failed, 2 if the configuration cannot be read.
func CheckMain() int {
	cfg, err := ConfigFromEnv(os.Getenv, true)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	failed := 0
	for _, r := range Check(context.Background(), cfg) {
		fmt.Println(r)
		if !r.OK {
			failed++
		}
	}
	if failed > 0 {
		fmt.Printf("%d check(s) failed\n", failed)
		return 1
	}
	fmt.Println("all checks passed")
	return 0
}
