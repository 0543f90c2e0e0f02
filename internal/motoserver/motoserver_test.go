//go:build integration

package motoserver

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

func TestStartServesDynamoDB(t *testing.T) {
	s := Start(t)
	s.CreateTable(t, "t", "pk")
	out, err := s.DynamoDB().ListTables(context.Background(), &dynamodb.ListTablesInput{})
	if err != nil || len(out.TableNames) != 1 || out.TableNames[0] != "t" {
		t.Fatalf("ListTables = %v, %v; want [t]", out, err)
	}
}
