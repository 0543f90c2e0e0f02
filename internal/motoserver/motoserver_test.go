//go:build integration

package motoserver

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// rawTable makes an on-demand table with a string partition key. These
// tests are of the emulator itself (its DynamoDB semantics behind the
// proxy), not of the app, whose tables come from template.yaml
// (internal/motostack).
func rawTable(tb testing.TB, s *Server, name, pk string) {
	tb.Helper()
	_, err := s.DynamoDB().CreateTable(context.Background(), &dynamodb.CreateTableInput{
		TableName:            aws.String(name),
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String(pk), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String(pk), KeyType: types.KeyTypeHash}},
		BillingMode:          types.BillingModePayPerRequest,
	})
	// The SDK may retry a create whose answer was lost; the retry then
	// finds the table, which is what we wanted.
	var inUse *types.ResourceInUseException
	if err != nil && !errors.As(err, &inUse) {
		tb.Fatalf("create table %s: %v", name, err)
	}
}

func TestStartServesDynamoDB(t *testing.T) {
	s := Start(t)
	rawTable(t, s, "t", "pk")
	out, err := s.DynamoDB().ListTables(context.Background(), &dynamodb.ListTablesInput{})
	if err != nil || len(out.TableNames) != 1 || out.TableNames[0] != "t" {
		t.Fatalf("ListTables = %v, %v; want [t]", out, err)
	}
}
