//go:build integration

package awsstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/grid-kyc/kyc-link/internal/faultproxy"
	"github.com/grid-kyc/kyc-link/internal/motostack"
	"github.com/grid-kyc/kyc-link/pkg/awsstore"
)

// TestSetWebhookEndpointIsOneWrite: PATCH /config's store call is one
// conditional UpdateItem, no read: a change answers the item as written,
// the endpoint kept answers the item as it is (the failed condition's
// ALL_OLD) with nothing written, and a write whose answer was lost (moto
// applies it, the proxy drops the connection, the SDK sends it again and
// the second try meets the endpoint the first set) is still the change it
// made, so its test webhook is sent.
func TestSetWebhookEndpointIsOneWrite(t *testing.T) {
	srv := moto.Need(t)
	ctx := context.Background()
	t1 := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	t2 := t1.Add(time.Minute)
	setup := func(t *testing.T) (*faultproxy.Proxy, *awsstore.Platforms) {
		proxy := faultproxy.New(t, srv.URL)
		cfg := srv.Config()
		cfg.BaseEndpoint = aws.String(proxy.URL)
		table := motostack.New(t, srv, motostack.Options{Only: []string{"PlatformsTable"}}).Names["PlatformsTable"]
		return proxy, &awsstore.Platforms{Client: dynamodb.NewFromConfig(cfg), Table: table}
	}
	calls := func(t *testing.T, p *faultproxy.Proxy, want map[string]int) {
		t.Helper()
		for op, n := range want {
			if got := p.Count(op); got != n {
				t.Errorf("%s sent %d times; want %d", op, got, n)
			}
		}
	}

	t.Run("changed, then kept", func(t *testing.T) {
		p, s := setup(t)
		c, changed, err := s.SetWebhookEndpoint(ctx, "p1", "https://a.example.com/hooks", t1)
		if err != nil || !changed || c.WebhookEndpoint != "https://a.example.com/hooks" || !c.UpdatedAt.Equal(t1) {
			t.Fatalf("SetWebhookEndpoint = %+v, %v, %v", c, changed, err)
		}
		kept, changed, err := s.SetWebhookEndpoint(ctx, "p1", "https://a.example.com/hooks", t2)
		if err != nil || changed || kept != c {
			t.Fatalf("the same endpoint again = %+v, %v, %v; want %+v unchanged", kept, changed, err, c)
		}
		// The failed condition carries the item (ALL_OLD), in moto as in
		// DynamoDB: no read.
		calls(t, p, map[string]int{"UpdateItem": 2, "GetItem": 0})
	})
	t.Run("a lost answer is the change it made", func(t *testing.T) {
		p, s := setup(t)
		if _, _, err := s.SetWebhookEndpoint(ctx, "p1", "https://a.example.com/hooks", t1); err != nil {
			t.Fatal(err)
		}
		p.Set("UpdateItem", faultproxy.LoseAnswerOnce)
		c, changed, err := s.SetWebhookEndpoint(ctx, "p1", "https://b.example.com/hooks", t2)
		if err != nil || !changed || c.WebhookEndpoint != "https://b.example.com/hooks" || !c.UpdatedAt.Equal(t2) || !c.CreatedAt.Equal(t1) {
			t.Fatalf("SetWebhookEndpoint after a lost answer = %+v, %v, %v; want the change", c, changed, err)
		}
		calls(t, p, map[string]int{"UpdateItem": 3, "GetItem": 0}) // the first, and the lost one twice
	})
	t.Run("a platform item without createdAt", func(t *testing.T) {
		_, s := setup(t)
		if _, err := srv.DynamoDB().PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.Table),
			Item: map[string]types.AttributeValue{"id": S("p1"), "rateLimit": &types.AttributeValueMemberN{Value: "5"}}}); err != nil {
			t.Fatal(err)
		}
		c, changed, err := s.SetWebhookEndpoint(ctx, "p1", "https://a.example.com/hooks", t1)
		if err != nil || !changed || !c.CreatedAt.Equal(t1) {
			t.Fatalf("SetWebhookEndpoint = %+v, %v, %v", c, changed, err)
		}
	})
}
