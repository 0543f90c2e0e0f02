// Package motostack makes template.yaml's resources in moto_server: the
// tables (keys, indexes, streams, TTL), queues (their visibility timeout,
// retention, encryption and dead-letter queue), KMS keys (rotating) and
// their aliases, S3 buckets (their default encryption and public access
// block, lifecycle expirations), and secrets (the stack's generated ones as Secrets
// Manager would make them, the parameter secrets from the caller), and
// returns the environment each function's Environment names. make dev and the tests
// provision through it, so no table, queue or secret of a test differs
// from the template's, and none is created by hand.
package motostack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/grid-kyc/kyc-link/internal/motoserver"
	"github.com/grid-kyc/kyc-link/internal/samtemplate"
)

// Options says what to make.
type Options struct {
	// Suffix ends every resource's name, so tests sharing one moto never
	// meet ("" for make dev: the logical ids are the names).
	Suffix string
	// Stack is the stack name the aliases' ${AWS::StackName} stands for
	// (default "kyc-link", whose customer data alias is the
	// configuration's default).
	Stack string
	// Secrets are the values of the secrets the template takes as
	// parameters (ApiTokensSecretArn, SumsubSecretArn,
	// WebhookSigningKeySecretArn), by parameter name; one not given is
	// not made. A value given for a secret the template generates
	// (CursorKeySecret, IdempotencyKeySecret) is used instead of a
	// generated one: a test of a secret in the wrong format makes it so.
	Secrets map[string]string
	// Only, when not empty, limits what is made to these logical ids
	// (tables, queues, keys, buckets, generated secrets, parameters); an
	// alias comes with its key, a bucket with the key it encrypts with.
	Only []string
	// TemplatePath is the file tpl was read from, for what samtemplate
	// does not read (tables' sort keys and stream views, buckets): ""
	// is $KYC_TEMPLATE, else template.yaml at the module's root.
	TemplatePath string
}

// Stack is what was made.
type Stack struct {
	// Names maps each logical id (and each index name) to its local name,
	// queue URL or key ARN.
	Names map[string]string
	// Env is every function's Environment variable that names something
	// made, set to its local name, plus the AWS_* variables that point
	// the SDK at moto.
	Env map[string]string

	functions map[string]map[string]string // function -> variable -> logical id
}

// Lines is Env as KEY=value lines, for a process that serves every
// function (make dev, the all-in-one binary outside Lambda).
func (s *Stack) Lines() []string {
	var out []string
	for _, k := range slices.Sorted(maps.Keys(s.Env)) {
		out = append(out, k+"="+s.Env[k])
	}
	return out
}

// Function is Env for one function of the template: the AWS_* variables
// and those of its Environment that name something made, as KEY=value
// lines (the form a process's environment takes).
func (s *Stack) Function(name string) []string {
	var out []string
	for _, k := range slices.Sorted(maps.Keys(s.Env)) {
		_, own := s.functions[name][k]
		if own && s.Names[s.functions[name][k]] != "" || len(k) > 4 && k[:4] == "AWS_" {
			out = append(out, k+"="+s.Env[k])
		}
	}
	return out
}

func (o Options) wants(id string) bool { return len(o.Only) == 0 || slices.Contains(o.Only, id) }

// Provision makes tpl's resources in moto as o says.
func Provision(ctx context.Context, moto *motoserver.Server, tpl *samtemplate.Template, o Options) (*Stack, error) {
	if o.Stack == "" {
		o.Stack = "kyc-link"
	}
	db, q, sm, keys := moto.DynamoDB(), moto.SQS(), moto.SecretsManager(), kms.NewFromConfig(moto.Config())
	x, err := templateExtras(o.TemplatePath)
	if err != nil {
		return nil, err
	}
	names := map[string]string{}
	for _, t := range tpl.Tables {
		if !o.wants(t.LogicalID) {
			continue
		}
		name := t.LogicalID + o.Suffix
		if err := createTable(ctx, db, name, t, x.sortKeys[t.LogicalID], x.streamViews[t.LogicalID]); err != nil {
			return nil, err
		}
		names[t.LogicalID] = name
		for _, ix := range t.Indexes {
			names[ix.Name] = ix.Name // an Environment literal naming the index
		}
	}
	// Dead-letter queues first: a queue's redrive policy names its
	// dead-letter queue's ARN.
	queues := slices.Clone(tpl.Queues)
	slices.SortStableFunc(queues, func(a, b string) int {
		return boolInt(x.queues[a].DeadLetter != "") - boolInt(x.queues[b].DeadLetter != "")
	})
	for _, id := range queues {
		if !o.wants(id) {
			continue
		}
		url, err := createQueue(ctx, q, id+o.Suffix, x.queues[id], names)
		if err != nil {
			return nil, fmt.Errorf("create queue %s: %w", id, err)
		}
		names[id] = url
	}
	for _, id := range tpl.Keys {
		if !o.wants(id) && !slices.ContainsFunc(x.buckets, func(b bucket) bool { return b.KeyID == id && o.wants(b.LogicalID) }) {
			continue
		}
		out, err := keys.CreateKey(ctx, &kms.CreateKeyInput{Description: aws.String("motostack: " + id + o.Suffix),
			KeySpec: kmstypes.KeySpecSymmetricDefault, KeyUsage: kmstypes.KeyUsageTypeEncryptDecrypt})
		if err != nil {
			return nil, fmt.Errorf("create KMS key %s: %w", id, err)
		}
		// The template's key rotates (EnableKeyRotation: true, which
		// pkg/app's TestDeployedLeastPrivilege holds it to) and make check
		// requires it of CUSTOMER_DATA_KEY_ID; samtemplate does not read
		// the property, so every key made here rotates.
		if _, err := keys.EnableKeyRotation(ctx, &kms.EnableKeyRotationInput{KeyId: out.KeyMetadata.KeyId}); err != nil {
			return nil, fmt.Errorf("rotation of KMS key %s: %w", id, err)
		}
		names[id] = aws.ToString(out.KeyMetadata.Arn)
	}
	for _, a := range tpl.Aliases {
		key, ok := names[a.TargetKey]
		if !ok {
			continue // its key was not asked for
		}
		name := a.AliasName(o.Stack) + o.Suffix
		if _, err := keys.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String(name), TargetKeyId: aws.String(key)}); err != nil {
			return nil, fmt.Errorf("create KMS alias %s: %w", name, err)
		}
		names[a.LogicalID] = name
	}
	for _, b := range x.buckets {
		if !o.wants(b.LogicalID) {
			continue
		}
		// Bucket names are lowercase and global (moto's too).
		name := strings.ToLower(b.LogicalID + o.Suffix)
		if err := createBucket(ctx, S3(moto), name, b, names[b.KeyID]); err != nil {
			return nil, err
		}
		names[b.LogicalID] = name
	}
	secrets := map[string]string{}
	for id, v := range o.Secrets {
		if o.wants(id) {
			secrets[id] = v
		}
	}
	for _, sec := range tpl.Secrets {
		if _, given := secrets[sec.LogicalID]; given || !o.wants(sec.LogicalID) {
			continue
		}
		v, err := sec.Value()
		if err != nil {
			return nil, err
		}
		secrets[sec.LogicalID] = v
	}
	for _, id := range slices.Sorted(maps.Keys(secrets)) {
		name := id + o.Suffix
		if _, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(name), SecretString: aws.String(secrets[id])}); err != nil {
			return nil, fmt.Errorf("create secret %s: %w", id, err)
		}
		names[id] = name
	}
	env := map[string]string{"AWS_ENDPOINT_URL": moto.URL, "AWS_REGION": motoserver.Region,
		"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"}
	for _, vars := range tpl.Env {
		for k, ref := range vars {
			if name, ok := names[ref]; ok {
				env[k] = name
			}
		}
	}
	return &Stack{Names: names, Env: env, functions: tpl.Env}, nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// createQueue makes a queue named name with p's attributes and, when its
// dead-letter queue was made (its URL in names), its redrive policy.
func createQueue(ctx context.Context, q *sqs.Client, name string, p queue, names map[string]string) (string, error) {
	attrs := maps.Clone(p.Attributes)
	if dlq := names[p.DeadLetter]; p.DeadLetter != "" && dlq != "" {
		out, err := q.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(dlq),
			AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn}})
		if err != nil {
			return "", fmt.Errorf("dead-letter queue %s: %w", p.DeadLetter, err)
		}
		policy, _ := json.Marshal(map[string]string{"deadLetterTargetArn": out.Attributes[string(sqstypes.QueueAttributeNameQueueArn)],
			"maxReceiveCount": p.MaxReceiveCount})
		if attrs == nil {
			attrs = map[string]string{}
		}
		attrs[string(sqstypes.QueueAttributeNameRedrivePolicy)] = string(policy)
	}
	out, err := q.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name), Attributes: attrs})
	if err != nil {
		return "", err
	}
	return aws.ToString(out.QueueUrl), nil
}

// createTable makes table t as the template declares it, named name,
// with sort key sortKey ("" for none) and a stream of view (NEW_IMAGE
// when "" and t has a stream).
func createTable(ctx context.Context, db *dynamodb.Client, name string, t samtemplate.Table, sortKey, view string) error {
	in := &dynamodb.CreateTableInput{
		TableName:   aws.String(name),
		KeySchema:   []types.KeySchemaElement{{AttributeName: aws.String(t.HashKey), KeyType: types.KeyTypeHash}},
		BillingMode: types.BillingModePayPerRequest,
	}
	if sortKey != "" {
		in.KeySchema = append(in.KeySchema, types.KeySchemaElement{AttributeName: aws.String(sortKey), KeyType: types.KeyTypeRange})
	}
	attrs := map[string]string{t.HashKey: "S"}
	maps.Copy(attrs, t.Attributes)
	for _, a := range slices.Sorted(maps.Keys(attrs)) {
		in.AttributeDefinitions = append(in.AttributeDefinitions,
			types.AttributeDefinition{AttributeName: aws.String(a), AttributeType: types.ScalarAttributeType(attrs[a])})
	}
	for _, ix := range t.Indexes {
		gsi := types.GlobalSecondaryIndex{IndexName: aws.String(ix.Name),
			KeySchema:  []types.KeySchemaElement{{AttributeName: aws.String(ix.HashKey), KeyType: types.KeyTypeHash}},
			Projection: &types.Projection{ProjectionType: types.ProjectionType(ix.Projection)}}
		if ix.RangeKey != "" {
			gsi.KeySchema = append(gsi.KeySchema, types.KeySchemaElement{AttributeName: aws.String(ix.RangeKey), KeyType: types.KeyTypeRange})
		}
		in.GlobalSecondaryIndexes = append(in.GlobalSecondaryIndexes, gsi)
	}
	if t.Stream {
		in.StreamSpecification = &types.StreamSpecification{StreamEnabled: aws.Bool(true), StreamViewType: types.StreamViewTypeNewImage}
		if view != "" {
			in.StreamSpecification.StreamViewType = types.StreamViewType(view)
		}
	}
	// The SDK may retry a create whose answer was lost; the retry then
	// finds the table, which is what we wanted.
	var inUse *types.ResourceInUseException
	if _, err := db.CreateTable(ctx, in); err != nil && !errors.As(err, &inUse) {
		return fmt.Errorf("create table %s: %w", t.LogicalID, err)
	}
	if t.TTL != "" {
		if _, err := db.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{TableName: aws.String(name),
			TimeToLiveSpecification: &types.TimeToLiveSpecification{AttributeName: aws.String(t.TTL), Enabled: aws.Bool(true)}}); err != nil {
			return fmt.Errorf("TTL of %s: %w", t.LogicalID, err)
		}
	}
	return nil
}

// S3 is an S3 client of moto (path-style requests: a bucket is not a
// host name of the emulator).
func S3(moto *motoserver.Server) *s3.Client {
	return s3.NewFromConfig(moto.Config(), func(o *s3.Options) { o.UsePathStyle = true })
}

// createBucket makes bucket b named name: its default encryption (with
// keyARN, the key made for b.KeyID), public access block and lifecycle.
func createBucket(ctx context.Context, c *s3.Client, name string, b bucket, keyARN string) error {
	var owned *s3types.BucketAlreadyOwnedByYou
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil && !errors.As(err, &owned) {
		return fmt.Errorf("create bucket %s: %w", b.LogicalID, err)
	}
	if b.SSEAlgorithm != "" {
		def := &s3types.ServerSideEncryptionByDefault{SSEAlgorithm: s3types.ServerSideEncryption(b.SSEAlgorithm)}
		if b.KeyID != "" {
			if keyARN == "" {
				return fmt.Errorf("bucket %s: its key %s was not made", b.LogicalID, b.KeyID)
			}
			def.KMSMasterKeyID = aws.String(keyARN)
		}
		if _, err := c.PutBucketEncryption(ctx, &s3.PutBucketEncryptionInput{Bucket: aws.String(name),
			ServerSideEncryptionConfiguration: &s3types.ServerSideEncryptionConfiguration{Rules: []s3types.ServerSideEncryptionRule{
				{ApplyServerSideEncryptionByDefault: def, BucketKeyEnabled: aws.Bool(b.BucketKey)}}}}); err != nil {
			return fmt.Errorf("encryption of bucket %s: %w", b.LogicalID, err)
		}
	}
	if b.BlockPublic {
		if _, err := c.PutPublicAccessBlock(ctx, &s3.PutPublicAccessBlockInput{Bucket: aws.String(name),
			PublicAccessBlockConfiguration: &s3types.PublicAccessBlockConfiguration{BlockPublicAcls: aws.Bool(true),
				BlockPublicPolicy: aws.Bool(true), IgnorePublicAcls: aws.Bool(true), RestrictPublicBuckets: aws.Bool(true)}}); err != nil {
			return fmt.Errorf("public access block of bucket %s: %w", b.LogicalID, err)
		}
	}
	var rules []s3types.LifecycleRule
	for _, prefix := range slices.Sorted(maps.Keys(b.Expirations)) {
		rules = append(rules, s3types.LifecycleRule{ID: aws.String("expire " + prefix), Status: s3types.ExpirationStatusEnabled,
			Filter: &s3types.LifecycleRuleFilter{Prefix: aws.String(prefix)}, Expiration: &s3types.LifecycleExpiration{Days: aws.Int32(b.Expirations[prefix])}})
	}
	if b.AbortMultipartDays > 0 {
		rules = append(rules, s3types.LifecycleRule{ID: aws.String("abort incomplete multipart uploads"), Status: s3types.ExpirationStatusEnabled,
			Filter:                         &s3types.LifecycleRuleFilter{Prefix: aws.String("")},
			AbortIncompleteMultipartUpload: &s3types.AbortIncompleteMultipartUpload{DaysAfterInitiation: aws.Int32(b.AbortMultipartDays)}})
	}
	if len(rules) > 0 {
		if _, err := c.PutBucketLifecycleConfiguration(ctx, &s3.PutBucketLifecycleConfigurationInput{Bucket: aws.String(name),
			LifecycleConfiguration: &s3types.BucketLifecycleConfiguration{Rules: rules}}); err != nil {
			return fmt.Errorf("lifecycle of bucket %s: %w", b.LogicalID, err)
		}
	}
	return nil
}

// Template reads template.yaml at the module's root, found from the
// working directory up (a test runs in its package's folder).
func Template() (*samtemplate.Template, error) {
	path, err := templatePath()
	if err != nil {
		return nil, err
	}
	return samtemplate.Load(path)
}

// templatePath is template.yaml at the module's root.
func templatePath() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, "template.yaml"), nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("motostack: no go.mod above the working directory")
		}
		dir = parent
	}
}

// templateExtras reads what samtemplate does not from path, else
// $KYC_TEMPLATE (make dev's), else the module's template.yaml.
func templateExtras(path string) (*extras, error) {
	if path == "" {
		path = os.Getenv("KYC_TEMPLATE")
	}
	if path == "" {
		var err error
		if path, err = templatePath(); err != nil {
			return nil, err
		}
	}
	return readExtras(path)
}

// New provisions for a test: template.yaml's resources (those o.Only
// names, if any) under a suffix of its own, in moto (which tb needs).
func New(tb testing.TB, moto *motoserver.Server, o Options) *Stack {
	tb.Helper()
	moto = moto.Need(tb)
	tpl, err := Template()
	if err != nil {
		tb.Fatal(err)
	}
	if o.Suffix == "" {
		o.Suffix = "-" + motoserver.Name("t")
	}
	st, err := Provision(context.Background(), moto, tpl, o)
	if err != nil {
		tb.Fatal(err)
	}
	return st
}
