package storetest

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/grid-kyc/kyc-link/pkg/awsstore"
)

// CreateCustomersTable makes the customers table as the stack has it
// (partition key id) with the by-platform index the platform API lists
// through: partition key platformId, sort key createdKey, all attributes
// projected.
func CreateCustomersTable(tb testing.TB, db *dynamodb.Client, name, index string) {
	tb.Helper()
	_, err := db.CreateTable(context.Background(), &dynamodb.CreateTableInput{
		TableName: aws.String(name),
		AttributeDefinitions: []types.AttributeDefinition{
			{AttributeName: aws.String("id"), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String("platformId"), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String("createdKey"), AttributeType: types.ScalarAttributeTypeS},
		},
		KeySchema: []types.KeySchemaElement{{AttributeName: aws.String("id"), KeyType: types.KeyTypeHash}},
		GlobalSecondaryIndexes: []types.GlobalSecondaryIndex{{
			IndexName: aws.String(index),
			KeySchema: []types.KeySchemaElement{
				{AttributeName: aws.String("platformId"), KeyType: types.KeyTypeHash},
				{AttributeName: aws.String("createdKey"), KeyType: types.KeyTypeRange},
			},
			Projection: &types.Projection{ProjectionType: types.ProjectionTypeAll},
		}},
		BillingMode: types.BillingModePayPerRequest,
	})
	var inUse *types.ResourceInUseException
	if err != nil && !errors.As(err, &inUse) {
		tb.Fatalf("create table %s: %v", name, err)
	}
}

// CreateKey makes a symmetric KMS key and returns its id.
func CreateKey(tb testing.TB, k *kms.Client) string {
	tb.Helper()
	out, err := k.CreateKey(context.Background(), &kms.CreateKeyInput{Description: aws.String("kyc-link test customer data")})
	if err != nil {
		tb.Fatalf("create KMS key: %v", err)
	}
	return aws.ToString(out.KeyMetadata.KeyId)
}

// Counting counts a DynamoDB client's Query and Scan calls.
type Counting struct {
	*dynamodb.Client
	Queries, Scans atomic.Int64
}

var _ awsstore.CustomersAPI = (*Counting)(nil)

func (c *Counting) Query(ctx context.Context, in *dynamodb.QueryInput, o ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	c.Queries.Add(1)
	return c.Client.Query(ctx, in, o...)
}

func (c *Counting) Scan(ctx context.Context, in *dynamodb.ScanInput, o ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error) {
	c.Scans.Add(1)
	return c.Client.Scan(ctx, in, o...)
}

// Flatten returns every value in item (nested maps and lists included) as
// a string, binary values as their bytes.
func Flatten(item map[string]types.AttributeValue) []string {
	var out []string
	var walk func(v types.AttributeValue)
	walk = func(v types.AttributeValue) {
		switch v := v.(type) {
		case *types.AttributeValueMemberS:
			out = append(out, v.Value)
		case *types.AttributeValueMemberN:
			out = append(out, v.Value)
		case *types.AttributeValueMemberB:
			out = append(out, string(v.Value))
		case *types.AttributeValueMemberSS:
			out = append(out, v.Value...)
		case *types.AttributeValueMemberL:
			for _, e := range v.Value {
				walk(e)
			}
		case *types.AttributeValueMemberM:
			for k, e := range v.Value {
				out = append(out, k)
				walk(e)
			}
		}
	}
	for k, v := range item {
		out = append(out, k)
		walk(v)
	}
	return out
}
