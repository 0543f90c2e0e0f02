package storetest

import (
	"context"
	"sync/atomic"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/grid-kyc/kyc-link/pkg/awsstore"
)

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
