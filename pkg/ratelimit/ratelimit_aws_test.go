//go:build integration

package ratelimit_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/grid-kyc/kyc-link/internal/motoserver"
	"github.com/grid-kyc/kyc-link/internal/motostack"
	"github.com/grid-kyc/kyc-link/pkg/awsstore"
	"github.com/grid-kyc/kyc-link/pkg/ratelimit"
)

var moto *motoserver.Server

func TestMain(m *testing.M) { os.Exit(motoserver.Main(m, &moto)) }

func init() {
	dynamoBackend = func(t *testing.T, def ratelimit.Limit, f func(t *testing.T, counter ratelimit.Counter, overrides *ratelimit.Overrides)) {
		moto := moto.Need(t)
		st := motostack.New(t, moto, motostack.Options{Only: []string{"RateLimitTable", "PlatformsTable"}})
		rates, platforms := st.Names["RateLimitTable"], st.Names["PlatformsTable"]
		db := moto.DynamoDB()
		_, err := db.PutItem(context.Background(), &dynamodb.PutItemInput{TableName: aws.String(platforms), Item: map[string]types.AttributeValue{
			"id": &types.AttributeValueMemberS{Value: "a"}, "rateLimit": &types.AttributeValueMemberN{Value: "1"},
			"rateBurst": &types.AttributeValueMemberN{Value: "2"}}})
		if err != nil {
			t.Fatal(err)
		}
		o := &ratelimit.Overrides{Source: &awsstore.Platforms{Client: db, Table: platforms}, Default: def, Now: time.Now, MaxAge: time.Hour}
		if err := o.Prime(context.Background()); err != nil {
			t.Fatal(err)
		}
		f(t, &awsstore.RateCounters{Client: db, Table: rates}, o)
	}
}
