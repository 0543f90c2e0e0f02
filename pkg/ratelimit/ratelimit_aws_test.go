//go:build integration

package ratelimit_test

import (
	"context"
	"os"
	"sync/atomic"
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
		// No start-up Scan: "a"'s own limit loads on its first use, as in
		// the link function.
		client := &countingClient{Client: db}
		o := &ratelimit.Overrides{Source: &awsstore.Platforms{Client: client, Table: platforms}, Default: def, Now: time.Now, MaxAge: time.Hour}
		loaded(t, o, "a", ratelimit.Limit{Rate: 1, Burst: 2})
		f(t, &awsstore.RateCounters{Client: db, Table: rates}, o)
		if n := client.scans.Load(); n != 0 {
			t.Errorf("the platforms table was scanned %d times; want none (limits load per platform)", n)
		}
	}
}

// countingClient counts the platform store's GetItem and Scan calls.
type countingClient struct {
	*dynamodb.Client
	gets, scans atomic.Int32
}

func (c *countingClient) GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	c.gets.Add(1)
	return c.Client.GetItem(ctx, in, opts...)
}

func (c *countingClient) Scan(ctx context.Context, in *dynamodb.ScanInput, opts ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error) {
	c.scans.Add(1)
	return c.Client.Scan(ctx, in, opts...)
}

// TestPlatformLimitsLoadPerPlatformFromDynamoDB: without a start-up step,
// a platform's own limit (its item's rateLimit and rateBurst) is read from
// the platforms table with one GetItem on its first link, which waits for
// it; a platform without an item keeps the default; the table is never
// scanned.
func TestPlatformLimitsLoadPerPlatformFromDynamoDB(t *testing.T) {
	moto := moto.Need(t)
	st := motostack.New(t, moto, motostack.Options{Only: []string{"PlatformsTable"}})
	db := moto.DynamoDB()
	for id, item := range map[string]map[string]types.AttributeValue{
		"own":  {"rateLimit": &types.AttributeValueMemberN{Value: "0.5"}, "rateBurst": &types.AttributeValueMemberN{Value: "3"}},
		"rate": {"rateLimit": &types.AttributeValueMemberN{Value: "7"}},
		"none": {"webhookUrl": &types.AttributeValueMemberS{Value: "https://none.example/hooks"}},
	} {
		item["id"] = &types.AttributeValueMemberS{Value: id}
		if _, err := db.PutItem(context.Background(), &dynamodb.PutItemInput{TableName: aws.String(st.Names["PlatformsTable"]), Item: item}); err != nil {
			t.Fatal(err)
		}
	}
	def := ratelimit.Limit{Rate: 2, Burst: 10}
	client := &countingClient{Client: db}
	o := &ratelimit.Overrides{Source: &awsstore.Platforms{Client: client, Table: st.Names["PlatformsTable"]}, Default: def, Now: time.Now, MaxAge: time.Hour}
	want := map[string]ratelimit.Limit{"own": {Rate: 0.5, Burst: 3}, "rate": {Rate: 7, Burst: 10}, "none": def, "absent": def}
	for range 2 { // the second time from the cache
		for id, w := range want {
			if got, err := o.Limit(context.Background(), id); err != nil || got != w {
				t.Errorf("Limit(%s) = %+v, %v; want %+v (its own from its first link)", id, got, err, w)
			}
		}
	}
	if gets, scans := client.gets.Load(), client.scans.Load(); gets != int32(len(want)) || scans != 0 {
		t.Errorf("%d GetItem and %d Scan calls; want one GetItem per platform (%d) and no Scan", gets, scans, len(want))
	}
}
