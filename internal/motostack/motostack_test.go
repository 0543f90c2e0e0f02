//go:build integration

package motostack_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/grid-kyc/kyc-link/internal/motoserver"
	"github.com/grid-kyc/kyc-link/internal/motostack"
)

var moto *motoserver.Server

func TestMain(m *testing.M) { os.Exit(motoserver.Main(m, &moto)) }

func secret(t *testing.T, id string) string {
	t.Helper()
	out, err := moto.SecretsManager().GetSecretValue(context.Background(), &secretsmanager.GetSecretValueInput{SecretId: aws.String(id)})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.SecretString)
}

// TestKeysRotate: the customer data key rotates, as the template's does
// (make check fails a key that does not).
func TestKeysRotate(t *testing.T) {
	st := motostack.New(t, moto, motostack.Options{Only: []string{"CustomerDataKey"}})
	out, err := kms.NewFromConfig(moto.Config()).GetKeyRotationStatus(context.Background(),
		&kms.GetKeyRotationStatusInput{KeyId: aws.String(st.Names["CustomerDataKey"])})
	if err != nil {
		t.Fatal(err)
	}
	if !out.KeyRotationEnabled {
		t.Fatal("the customer data key does not rotate")
	}
}

// TestSecrets: a generated secret is made in the template's format unless
// Options.Secrets gives its value; a parameter secret is made only with a
// value, and the functions' variables name what was made.
func TestSecrets(t *testing.T) {
	st := motostack.New(t, moto, motostack.Options{
		Only:    []string{"CursorKeySecret", "IdempotencyKeySecret", "ApiTokensSecretArn", "SumsubSecretArn"},
		Secrets: map[string]string{"IdempotencyKeySecret": `{"key":"short"}`, "ApiTokensSecretArn": `{"tokens":[]}`},
	})
	var cursor struct{ Key string }
	if err := json.Unmarshal([]byte(secret(t, st.Names["CursorKeySecret"])), &cursor); err != nil || len(cursor.Key) != 44 {
		t.Errorf("generated cursor secret: key %q, %v; want 44 characters", cursor.Key, err)
	}
	if got := secret(t, st.Names["IdempotencyKeySecret"]); got != `{"key":"short"}` {
		t.Errorf("idempotency key secret = %s; want the value given", got)
	}
	if got := secret(t, st.Names["ApiTokensSecretArn"]); got != `{"tokens":[]}` {
		t.Errorf("tokens secret = %s; want the value given", got)
	}
	if _, made := st.Names["SumsubSecretArn"]; made {
		t.Errorf("the Sumsub secret was made without a value")
	}
	for k, id := range map[string]string{"CURSOR_KEY_SECRET_ID": "CursorKeySecret", "IDEMPOTENCY_KEY_SECRET_ID": "IdempotencyKeySecret",
		"API_TOKENS_SECRET_ID": "ApiTokensSecretArn"} {
		if st.Env[k] != st.Names[id] || st.Env[k] == "" {
			t.Errorf("Env[%s] = %q; want %s's name %q", k, st.Env[k], id, st.Names[id])
		}
	}
	if v, ok := st.Env["SUMSUB_SECRET_ID"]; ok {
		t.Errorf("Env names a Sumsub secret that was not made: %q", v)
	}
}

// TestDocumentsBucket: the documents bucket is made with its key (which
// comes with it), encrypted by default with that key and a bucket key,
// closed to the public, its direct uploads expiring; the platform API's
// DOCUMENTS_BUCKET names it.
func TestDocumentsBucket(t *testing.T) {
	ctx := context.Background()
	st := motostack.New(t, moto, motostack.Options{Only: []string{"DocumentsBucket"}})
	name, key := st.Names["DocumentsBucket"], st.Names["DocumentsKey"]
	if name == "" || key == "" {
		t.Fatalf("names %v; want the bucket and its key", st.Names)
	}
	if st.Env["DOCUMENTS_BUCKET"] != name {
		t.Errorf("DOCUMENTS_BUCKET=%q; want %q", st.Env["DOCUMENTS_BUCKET"], name)
	}
	c := motostack.S3(moto)
	enc, err := c.GetBucketEncryption(ctx, &s3.GetBucketEncryptionInput{Bucket: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	rules := enc.ServerSideEncryptionConfiguration.Rules
	if len(rules) != 1 || rules[0].ApplyServerSideEncryptionByDefault.SSEAlgorithm != s3types.ServerSideEncryptionAwsKms ||
		aws.ToString(rules[0].ApplyServerSideEncryptionByDefault.KMSMasterKeyID) != key || !aws.ToBool(rules[0].BucketKeyEnabled) {
		t.Errorf("encryption %+v; want aws:kms with %s and a bucket key", rules, key)
	}
	pab, err := c.GetPublicAccessBlock(ctx, &s3.GetPublicAccessBlockInput{Bucket: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	if p := pab.PublicAccessBlockConfiguration; !aws.ToBool(p.BlockPublicAcls) || !aws.ToBool(p.BlockPublicPolicy) ||
		!aws.ToBool(p.IgnorePublicAcls) || !aws.ToBool(p.RestrictPublicBuckets) {
		t.Errorf("public access block %+v; want all four", p)
	}
	lc, err := c.GetBucketLifecycleConfiguration(ctx, &s3.GetBucketLifecycleConfigurationInput{Bucket: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	expires := false
	for _, r := range lc.Rules {
		if r.Filter != nil && aws.ToString(r.Filter.Prefix) == "incoming/" && r.Expiration != nil && aws.ToInt32(r.Expiration.Days) == 1 {
			expires = true
		}
	}
	if !expires {
		t.Errorf("lifecycle %+v; want incoming/ expiring after a day", lc.Rules)
	}
}

// TestTableKeysAndStreams: a table with a sort key gets it, and a stream
// its view, as the template declares.
func TestTableKeysAndStreams(t *testing.T) {
	st := motostack.New(t, moto, motostack.Options{Only: []string{"DocumentsTable", "VerificationsTable", "WebhookOutboxTable"}})
	describe := func(id string) *types.TableDescription {
		out, err := moto.DynamoDB().DescribeTable(context.Background(), &dynamodb.DescribeTableInput{TableName: aws.String(st.Names[id])})
		if err != nil {
			t.Fatal(err)
		}
		return out.Table
	}
	docs := describe("DocumentsTable")
	if len(docs.KeySchema) != 2 || aws.ToString(docs.KeySchema[1].AttributeName) != "sk" || docs.KeySchema[1].KeyType != types.KeyTypeRange {
		t.Errorf("documents table keys %+v; want pk and sort key sk", docs.KeySchema)
	}
	for id, view := range map[string]types.StreamViewType{"VerificationsTable": types.StreamViewTypeNewAndOldImages,
		"WebhookOutboxTable": types.StreamViewTypeNewImage} {
		if s := describe(id).StreamSpecification; s == nil || s.StreamViewType != view {
			t.Errorf("%s stream %+v; want %s", id, s, view)
		}
	}
}

// TestQueues: a queue is made with the template's attributes, and one
// with a redrive policy sends its dead letters to the queue the template
// names, after as many receipts.
func TestQueues(t *testing.T) {
	st := motostack.New(t, moto, motostack.Options{Only: []string{"SubmissionQueue", "SubmissionDeadLetterQueue"}})
	q := moto.SQS()
	attrs := func(url string) map[string]string {
		t.Helper()
		out, err := q.GetQueueAttributes(context.Background(), &sqs.GetQueueAttributesInput{QueueUrl: aws.String(url),
			AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameAll}})
		if err != nil {
			t.Fatal(err)
		}
		return out.Attributes
	}
	dlq, got := attrs(st.Names["SubmissionDeadLetterQueue"]), attrs(st.Names["SubmissionQueue"])
	var redrive struct {
		DeadLetterTargetArn string `json:"deadLetterTargetArn"`
		MaxReceiveCount     any    `json:"maxReceiveCount"`
	}
	if err := json.Unmarshal([]byte(got["RedrivePolicy"]), &redrive); err != nil {
		t.Fatalf("redrive policy %q: %v", got["RedrivePolicy"], err)
	}
	if redrive.DeadLetterTargetArn != dlq["QueueArn"] || fmt.Sprint(redrive.MaxReceiveCount) != "10" {
		t.Errorf("redrive policy %s; want %s after 10 receipts", got["RedrivePolicy"], dlq["QueueArn"])
	}
	if got["VisibilityTimeout"] != "720" || got["MessageRetentionPeriod"] != "1209600" || dlq["MessageRetentionPeriod"] != "1209600" {
		t.Errorf("visibility %s, retention %s (dead letters %s); want the template's 720 and 1209600", got["VisibilityTimeout"],
			got["MessageRetentionPeriod"], dlq["MessageRetentionPeriod"])
	}
	if st.Env["SUBMISSION_QUEUE_URL"] != st.Names["SubmissionQueue"] {
		t.Errorf("SUBMISSION_QUEUE_URL = %q; want the queue made", st.Env["SUBMISSION_QUEUE_URL"])
	}
}
