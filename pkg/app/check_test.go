//go:build integration

package app_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/grid-kyc/kyc-link/internal/motoserver"
	"github.com/grid-kyc/kyc-link/internal/motostack"
	"github.com/grid-kyc/kyc-link/pkg/app"
	"github.com/grid-kyc/kyc-link/pkg/auth"
	"github.com/grid-kyc/kyc-link/pkg/gridhook"
	"github.com/grid-kyc/kyc-link/pkg/sumsub"
	"github.com/grid-kyc/kyc-link/pkg/sumsub/sumsubtest"
)

// checkEnv provisions a complete deployment on moto from template.yaml
// (and a fake Sumsub) and returns its environment.
func checkEnv(t *testing.T) map[string]string {
	moto := moto.Need(t)
	creds := sumsub.Credentials{AppToken: "sbx:check", SecretKey: "check-secret"}
	fake := sumsubtest.NewServer(creds)
	t.Cleanup(fake.Close)
	signing, _, _ := gridhook.NewKey()
	st := motostack.New(t, moto, motostack.Options{Secrets: map[string]string{
		"ApiTokensSecretArn":         `{"tokens":[{"id":"tok","platformId":"p","secretSha256":"` + auth.DigestHex("s") + `"}]}`,
		"SumsubSecretArn":            `{"appToken":"sbx:check","secretKey":"check-secret","webhookSecret":"w"}`,
		"WebhookSigningKeySecretArn": signing,
	}})
	from := verifiedSender(t)
	_, domain, _ := strings.Cut(from, "@")
	env := map[string]string{"SUMSUB_BASE_URL": fake.URL, "CONTACT_EMAIL_FROM": from, "CONTACT_EMAIL_IDENTITY": domain}
	for k, v := range st.Env {
		if strings.HasPrefix(k, "AWS_") {
			t.Setenv(k, v)
		} else {
			env[k] = v
		}
	}
	return env
}

// verifiedSender is an address of an SES identity verified in moto (moto
// verifies an identity at once).
func verifiedSender(t *testing.T) string {
	t.Helper()
	domain := motoserver.Name("d") + ".test"
	if _, err := sesv2.NewFromConfig(moto.Config()).CreateEmailIdentity(context.Background(),
		&sesv2.CreateEmailIdentityInput{EmailIdentity: aws.String(domain)}); err != nil {
		t.Fatal(err)
	}
	return "codes@" + domain
}

// setQueueAttribute changes one attribute of a queue of the stack.
func setQueueAttribute(t *testing.T, url, name, value string) {
	t.Helper()
	if _, err := moto.SQS().SetQueueAttributes(context.Background(), &sqs.SetQueueAttributesInput{QueueUrl: aws.String(url),
		Attributes: map[string]string{name: value}}); err != nil {
		t.Fatal(err)
	}
}

// brokenSecret makes another secret in place of the template's secret id
// (a parameter or a generated one), holding value, and returns its name.
func brokenSecret(t *testing.T, id, value string) string {
	t.Helper()
	return motostack.New(t, moto, motostack.Options{Only: []string{id}, Secrets: map[string]string{id: value}}).Names[id]
}

// setTTL turns a table's TTL on attr on or off.
func setTTL(t *testing.T, table, attr string, on bool) {
	t.Helper()
	if _, err := moto.DynamoDB().UpdateTimeToLive(context.Background(), &dynamodb.UpdateTimeToLiveInput{TableName: aws.String(table),
		TimeToLiveSpecification: &types.TimeToLiveSpecification{AttributeName: aws.String(attr), Enabled: aws.Bool(on)}}); err != nil {
		t.Fatal(err)
	}
}

// updateTable changes a table of the stack (its stream, its indexes).
func updateTable(t *testing.T, in *dynamodb.UpdateTableInput) {
	t.Helper()
	if _, err := moto.DynamoDB().UpdateTable(context.Background(), in); err != nil {
		t.Fatal(err)
	}
}

// dropIndex deletes the customers table's by-platform index.
func dropIndex(t *testing.T, table string) {
	t.Helper()
	updateTable(t, &dynamodb.UpdateTableInput{TableName: aws.String(table),
		GlobalSecondaryIndexUpdates: []types.GlobalSecondaryIndexUpdate{{Delete: &types.DeleteGlobalSecondaryIndexAction{IndexName: aws.String("byPlatform")}}}})
}

// customerDataKey is the id of the key CUSTOMER_DATA_KEY_ID (an alias)
// names: DisableKey and DisableKeyRotation take a key's id, not an alias.
func customerDataKey(t *testing.T, env map[string]string) (*kms.Client, *string) {
	t.Helper()
	k := kms.NewFromConfig(moto.Config())
	out, err := k.DescribeKey(context.Background(), &kms.DescribeKeyInput{KeyId: aws.String(env["CUSTOMER_DATA_KEY_ID"])})
	if err != nil {
		t.Fatal(err)
	}
	return k, out.KeyMetadata.KeyId
}

func runCheck(t *testing.T, env map[string]string) map[string]app.CheckResult {
	t.Helper()
	cfg, err := app.ConfigFromEnv(func(k string) string { return env[k] }, true)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]app.CheckResult{}
	for _, r := range app.Check(context.Background(), cfg) {
		out[r.Item] = r
	}
	return out
}

// TestCheckPassesOnACompleteDeployment: every item of a complete
// deployment passes (six secrets, Sumsub, the KMS key, nine tables, the
// documents' bucket, the email sender, the webhook queue, the submission
// queue and its dead-letter queue).
func TestCheckPassesOnACompleteDeployment(t *testing.T) {
	results := runCheck(t, checkEnv(t))
	if len(results) != 22 {
		t.Errorf("%d items checked; want 22: %v", len(results), results)
	}
	for _, r := range results {
		if !r.OK {
			t.Errorf("%s", r)
		}
	}
}

// TestCheckFailsClearly: each broken piece fails its own line, naming the
// variable and what is wrong. A piece is broken by pointing its variable
// at another resource of the template or at a secret with another value,
// or by changing the stack's own resource (TTL or stream off, the index
// dropped or replaced, the key disabled or not rotating).
func TestCheckFailsClearly(t *testing.T) {
	for _, tc := range []struct {
		name, item, want string
		breakIt          func(t *testing.T, env map[string]string)
	}{
		{"missing table", "table absent-table", "CUSTOMERS_TABLE=absent-table", func(_ *testing.T, env map[string]string) {
			env["CUSTOMERS_TABLE"] = "absent-table"
		}},
		{"wrong key", "table ", "want only \"pk\"", func(t *testing.T, env map[string]string) {
			// The template's dead-letter table is keyed by id.
			env["IDEMPOTENCY_TABLE"] = motostack.New(t, moto, motostack.Options{Only: []string{"WebhookDeadLetterTable"}}).Names["WebhookDeadLetterTable"]
		}},
		{"no TTL", "table ", "TTL is not enabled", func(t *testing.T, env map[string]string) {
			setTTL(t, env["RATE_LIMIT_TABLE"], "expiresAt", false)
		}},
		{"no stream", "table ", "no stream", func(t *testing.T, env map[string]string) {
			updateTable(t, &dynamodb.UpdateTableInput{TableName: aws.String(env["WEBHOOK_OUTBOX_TABLE"]),
				StreamSpecification: &types.StreamSpecification{StreamEnabled: aws.Bool(false)}})
		}},
		{"customers table without TTL", "table ", "TTL is not enabled on \"expiresAt\"", func(t *testing.T, env map[string]string) {
			setTTL(t, env["CUSTOMERS_TABLE"], "expiresAt", false)
		}},
		{"no customers index", "table ", "no index CUSTOMERS_BY_PLATFORM_INDEX=byPlatform", func(t *testing.T, env map[string]string) {
			dropIndex(t, env["CUSTOMERS_TABLE"])
		}},
		{"index with other keys", "table ", "want partition key platformId (S), sort key createdKey (S)", func(t *testing.T, env map[string]string) {
			dropIndex(t, env["CUSTOMERS_TABLE"])
			updateTable(t, &dynamodb.UpdateTableInput{TableName: aws.String(env["CUSTOMERS_TABLE"]),
				AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("platformId"), AttributeType: types.ScalarAttributeTypeS}},
				GlobalSecondaryIndexUpdates: []types.GlobalSecondaryIndexUpdate{{Create: &types.CreateGlobalSecondaryIndexAction{IndexName: aws.String("byPlatform"),
					KeySchema:  []types.KeySchemaElement{{AttributeName: aws.String("platformId"), KeyType: types.KeyTypeHash}},
					Projection: &types.Projection{ProjectionType: types.ProjectionTypeAll}}}}})
		}},
		{"index of another name", "table ", "no index CUSTOMERS_BY_PLATFORM_INDEX=byCreation", func(_ *testing.T, env map[string]string) {
			env["CUSTOMERS_BY_PLATFORM_INDEX"] = "byCreation"
		}},
		{"documents table of other keys", "table ", "want \"pk\" and \"sk\"", func(t *testing.T, env map[string]string) {
			// The template's platforms table is keyed by id alone.
			env["DOCUMENTS_TABLE"] = motostack.New(t, moto, motostack.Options{Only: []string{"PlatformsTable"}}).Names["PlatformsTable"]
		}},
		{"documents index of another name", "table ", "no index DOCUMENTS_BY_PLATFORM_INDEX=byCreation", func(_ *testing.T, env map[string]string) {
			env["DOCUMENTS_BY_PLATFORM_INDEX"] = "byCreation"
		}},
		{"verifications without their stream", "table ", "the submission worker reads it", func(t *testing.T, env map[string]string) {
			updateTable(t, &dynamodb.UpdateTableInput{TableName: aws.String(env["VERIFICATIONS_TABLE"]),
				StreamSpecification: &types.StreamSpecification{StreamEnabled: aws.Bool(false)}})
		}},
		{"verifications index with other keys", "table ", "VERIFICATIONS_BY_CUSTOMER_INDEX=byPlatform: keys \"platformId\" (S), \"position\" (S); want partition key customerId (S)", func(_ *testing.T, env map[string]string) {
			env["VERIFICATIONS_BY_CUSTOMER_INDEX"] = "byPlatform"
		}},
		{"missing bucket", "bucket ", "DOCUMENTS_BUCKET=", func(_ *testing.T, env map[string]string) {
			env["DOCUMENTS_BUCKET"] = motoserver.Name("absent")
		}},
		{"bucket encrypted without KMS", "bucket ", "default encryption AES256; want aws:kms", func(t *testing.T, env map[string]string) {
			if _, err := motostack.S3(moto).PutBucketEncryption(context.Background(), &s3.PutBucketEncryptionInput{Bucket: aws.String(env["DOCUMENTS_BUCKET"]),
				ServerSideEncryptionConfiguration: &s3types.ServerSideEncryptionConfiguration{Rules: []s3types.ServerSideEncryptionRule{
					{ApplyServerSideEncryptionByDefault: &s3types.ServerSideEncryptionByDefault{SSEAlgorithm: s3types.ServerSideEncryptionAes256}}}}}); err != nil {
				t.Fatal(err)
			}
		}},
		{"missing KMS key", "KMS key ", "CUSTOMER_DATA_KEY_ID", func(_ *testing.T, env map[string]string) {
			env["CUSTOMER_DATA_KEY_ID"] = "alias/" + motoserver.Name("absent")
		}},
		{"KMS key disabled", "KMS key ", "the key is Disabled", func(t *testing.T, env map[string]string) {
			k, id := customerDataKey(t, env)
			if _, err := k.DisableKey(context.Background(), &kms.DisableKeyInput{KeyId: id}); err != nil {
				t.Fatal(err)
			}
		}},
		{"KMS key not rotating", "KMS key ", "automatic rotation is off", func(t *testing.T, env map[string]string) {
			k, id := customerDataKey(t, env)
			if _, err := k.DisableKeyRotation(context.Background(), &kms.DisableKeyRotationInput{KeyId: id}); err != nil {
				t.Fatal(err)
			}
		}},
		{"cursor key too short", "secret ", "CURSOR_KEY_SECRET_ID: the key has 5 characters; want at least 32", func(t *testing.T, env map[string]string) {
			env["CURSOR_KEY_SECRET_ID"] = brokenSecret(t, "CursorKeySecret", `{"key":"short"}`)
		}},
		{"cursor key not in its format", "secret ", "CURSOR_KEY_SECRET_ID: want {", func(t *testing.T, env map[string]string) {
			env["CURSOR_KEY_SECRET_ID"] = brokenSecret(t, "CursorKeySecret", strings.Repeat("k", 44))
		}},
		{"tokens secret not in its format", "secret ", "API_TOKENS_SECRET_ID", func(t *testing.T, env map[string]string) {
			env["API_TOKENS_SECRET_ID"] = brokenSecret(t, "ApiTokensSecretArn", `{"tokens":"x"}`)
		}},
		{"Sumsub refuses the credentials", "Sumsub credentials", "4003", func(t *testing.T, env map[string]string) {
			env["SUMSUB_SECRET_ID"] = brokenSecret(t, "SumsubSecretArn", `{"appToken":"sbx:check","secretKey":"not-the-key","webhookSecret":"w"}`)
		}},
		{"no webhook secret", "secret ", "no webhookSecret", func(t *testing.T, env map[string]string) {
			env["SUMSUB_SECRET_ID"] = brokenSecret(t, "SumsubSecretArn", `{"appToken":"sbx:check","secretKey":"check-secret"}`)
		}},
		{"contact code key too short", "secret ", "CONTACT_CODE_KEY_SECRET_ID: the key has 5 characters", func(t *testing.T, env map[string]string) {
			env["CONTACT_CODE_KEY_SECRET_ID"] = brokenSecret(t, "ContactCodeKeySecret", `{"key":"short"}`)
		}},
		{"contact codes table without TTL", "table ", "CONTACT_CODES_TABLE", func(t *testing.T, env map[string]string) {
			setTTL(t, env["CONTACT_CODES_TABLE"], "expiresAt", false)
		}},
		{"no email sender where email is required", "email sender", "CONTACT_EMAIL_FROM is not set", func(_ *testing.T, env map[string]string) {
			delete(env, "CONTACT_EMAIL_FROM")
		}},
		{"sender without an SES identity", "email sender", "no SES identity", func(_ *testing.T, env map[string]string) {
			env["CONTACT_EMAIL_FROM"] = "codes@" + motoserver.Name("unknown") + ".test"
			delete(env, "CONTACT_EMAIL_IDENTITY")
		}},
		{"configuration set missing", "email sender", "CONTACT_EMAIL_CONFIGURATION_SET=absent", func(_ *testing.T, env map[string]string) {
			env["CONTACT_EMAIL_CONFIGURATION_SET"] = "absent"
		}},
		{"the role's identity is the address, the verified one the domain", "email sender", "deploy with ContactEmailIdentity=", func(_ *testing.T, env map[string]string) {
			delete(env, "CONTACT_EMAIL_IDENTITY")
		}},
		{"no submission queue", "submission queue", "SUBMISSION_QUEUE_URL is not set", func(_ *testing.T, env map[string]string) {
			delete(env, "SUBMISSION_QUEUE_URL")
		}},
		{"submission queue without dead letters", "submission queue", "no redrive policy", func(t *testing.T, env map[string]string) {
			// The template's dead-letter queues have no redrive policy
			// of their own.
			env["SUBMISSION_QUEUE_URL"] = motostack.New(t, moto, motostack.Options{Only: []string{"SubmissionDeadLetterQueue"}}).Names["SubmissionDeadLetterQueue"]
		}},
		{"submission queue handing out running jobs", "submission queue", "visibility timeout 30 s; want at least 720 s", func(t *testing.T, env map[string]string) {
			setQueueAttribute(t, env["SUBMISSION_QUEUE_URL"], "VisibilityTimeout", "30")
		}},
		{"dead-lettered submissions", "submission dead-letter queue", "1 submission jobs are dead-lettered", func(t *testing.T, env map[string]string) {
			q := moto.SQS()
			out, err := q.GetQueueAttributes(context.Background(), &sqs.GetQueueAttributesInput{QueueUrl: aws.String(env["SUBMISSION_QUEUE_URL"]),
				AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameRedrivePolicy}})
			if err != nil {
				t.Fatal(err)
			}
			var redrive struct{ DeadLetterTargetArn string }
			json.Unmarshal([]byte(out.Attributes["RedrivePolicy"]), &redrive)
			name := redrive.DeadLetterTargetArn[strings.LastIndexByte(redrive.DeadLetterTargetArn, ':')+1:]
			u, err := q.GetQueueUrl(context.Background(), &sqs.GetQueueUrlInput{QueueName: aws.String(name)})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := q.SendMessage(context.Background(), &sqs.SendMessageInput{QueueUrl: u.QueueUrl, MessageBody: aws.String(`{"verificationId":"Verification:x"}`)}); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := checkEnv(t)
			tc.breakIt(t, env)
			failed := 0
			found := false
			for _, r := range runCheck(t, env) {
				if r.OK {
					continue
				}
				failed++
				found = found || strings.HasPrefix(r.Item, tc.item) && strings.Contains(r.Detail, tc.want)
			}
			if failed != 1 || !found {
				t.Fatalf("%d failing items, the expected one (%s … %s) found: %v", failed, tc.item, tc.want, found)
			}
		})
	}
}
