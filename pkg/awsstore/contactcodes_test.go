//go:build integration

package awsstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/grid-kyc/kyc-link/internal/faultproxy"
	"github.com/grid-kyc/kyc-link/internal/motostack"
	"github.com/grid-kyc/kyc-link/pkg/awsstore"
	"github.com/grid-kyc/kyc-link/pkg/kyc"
)

// TestContactCodesLostAnswersAreOwnWrites: each conditional write of the
// codes table whose answer is lost (moto applies it, the proxy drops the
// connection, the SDK sends it again and the second try fails the
// condition the first changed) is taken as done: a send is not refused as
// a race it lost, a right code is not refused as used, a wrong guess is
// counted once.
func TestContactCodesLostAnswersAreOwnWrites(t *testing.T) {
	srv := moto.Need(t)
	ctx := context.Background()
	t0 := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	setup := func(t *testing.T) (*faultproxy.Proxy, *awsstore.ContactCodes) {
		proxy := faultproxy.New(t, srv.URL)
		cfg := srv.Config()
		cfg.BaseEndpoint = aws.String(proxy.URL)
		table := motostack.New(t, srv, motostack.Options{Only: []string{"ContactCodesTable"}}).Names["ContactCodesTable"]
		return proxy, &awsstore.ContactCodes{Client: dynamodb.NewFromConfig(cfg), Table: table}
	}
	code := kyc.ContactCode{CustomerID: "Customer:1", Channel: kyc.ChannelEmail, CodeMAC: []byte("mac"), ContactMAC: []byte("to"),
		ExpiresAt: t0.Add(kyc.CodeLifetime), SentAt: t0, WindowStart: t0, Sends: 1, Delivered: true}
	put := func(t *testing.T, s *awsstore.ContactCodes) {
		t.Helper()
		if err := s.PutContactCode(ctx, time.Time{}, code); err != nil {
			t.Fatal(err)
		}
	}
	resent := func(t *testing.T, p *faultproxy.Proxy, op string) {
		t.Helper()
		if n := p.Count(op); n != 2 {
			t.Fatalf("%s sent %d times; want 2 (the SDK re-sends after the lost answer)", op, n)
		}
	}

	t.Run("send", func(t *testing.T) {
		p, s := setup(t)
		p.Set("PutItem", faultproxy.LoseAnswerOnce)
		if err := s.PutContactCode(ctx, time.Time{}, code); err != nil {
			t.Fatalf("PutContactCode = %v; want done (the lost write was ours)", err)
		}
		resent(t, p, "PutItem")
		// A send that really lost the race is still refused.
		if err := s.PutContactCode(ctx, time.Time{}, code); err != kyc.ErrChanged {
			t.Errorf("a second first send = %v; want ErrChanged", err)
		}
	})
	t.Run("use", func(t *testing.T) {
		p, s := setup(t)
		put(t, s)
		p.Set("UpdateItem", faultproxy.LoseAnswerOnce)
		if used, err := s.UseContactCode(ctx, "Customer:1", kyc.ChannelEmail, code.CodeMAC, kyc.MaxWrongCodes); !used || err != nil {
			t.Fatalf("UseContactCode = %v, %v; want used (the lost write was ours)", used, err)
		}
		resent(t, p, "UpdateItem")
		if used, _ := s.UseContactCode(ctx, "Customer:1", kyc.ChannelEmail, code.CodeMAC, kyc.MaxWrongCodes); used {
			t.Error("a second use succeeded")
		}
	})
	t.Run("wrong guess", func(t *testing.T) {
		p, s := setup(t)
		put(t, s)
		p.Set("UpdateItem", faultproxy.LoseAnswerOnce)
		if counted, err := s.CountWrongCode(ctx, "Customer:1", kyc.ChannelEmail, code.CodeMAC, kyc.MaxWrongCodes); !counted || err != nil {
			t.Fatalf("CountWrongCode = %v, %v", counted, err)
		}
		resent(t, p, "UpdateItem")
		c, _, err := s.ContactCode(ctx, "Customer:1", kyc.ChannelEmail)
		if err != nil || c.Attempts != 1 {
			t.Errorf("attempts = %d, %v; want 1 (one guess, counted once)", c.Attempts, err)
		}
	})
	t.Run("mark delivered", func(t *testing.T) {
		p, s := setup(t)
		undelivered := code
		undelivered.Delivered = false
		if err := s.PutContactCode(ctx, time.Time{}, undelivered); err != nil {
			t.Fatal(err)
		}
		p.Set("UpdateItem", faultproxy.LoseAnswerOnce)
		if err := s.MarkCodeDelivered(ctx, "Customer:1", kyc.ChannelEmail, code.CodeMAC); err != nil {
			t.Fatal(err)
		}
		if c, _, _ := s.ContactCode(ctx, "Customer:1", kyc.ChannelEmail); !c.Delivered {
			t.Error("not delivered")
		}
	})
}
