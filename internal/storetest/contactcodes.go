package storetest

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/grid-kyc/kyc-link/pkg/kyc"
)

// ContactCodes runs the contact codes suite: records replaced only from
// the state read, wrong guesses counted atomically up to the limit, a code
// used once, restored, revoked.
func ContactCodes(t *testing.T, newStore func(t *testing.T) kyc.ContactCodes) {
	ctx := context.Background()
	t0 := time.Date(2026, 12, 7, 9, 0, 0, 123_000_000, time.UTC)
	code := func(id string, ch kyc.Channel, sent time.Time, mac string) kyc.ContactCode {
		return kyc.ContactCode{CustomerID: id, Channel: ch, CodeMAC: []byte(mac), ContactMAC: []byte("contact-" + mac),
			ExpiresAt: sent.Add(kyc.CodeLifetime), SentAt: sent, WindowStart: t0, Sends: 1, Delivered: true}
	}
	read := func(t *testing.T, s kyc.ContactCodes, id string, ch kyc.Channel) kyc.ContactCode {
		t.Helper()
		c, found, err := s.ContactCode(ctx, id, ch)
		if err != nil || !found {
			t.Fatalf("ContactCode(%s, %s) = found %v, %v", id, ch, found, err)
		}
		return c
	}

	t.Run("none, then written and read back exactly", func(t *testing.T) {
		s := newStore(t)
		if _, found, err := s.ContactCode(ctx, "Customer:1", kyc.ChannelEmail); found || err != nil {
			t.Fatalf("an empty store found a code: %v, %v", found, err)
		}
		want := code("Customer:1", kyc.ChannelEmail, t0, "mac-1")
		want.Attempts = 2
		if err := s.PutContactCode(ctx, time.Time{}, want); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, read(t, s, "Customer:1", kyc.ChannelEmail)); diff != "" {
			t.Errorf("read back (-want +got):\n%s", diff)
		}
		if _, found, _ := s.ContactCode(ctx, "Customer:1", kyc.ChannelPhone); found {
			t.Error("the phone channel found the email's code")
		}
		if _, found, _ := s.ContactCode(ctx, "Customer:2", kyc.ChannelEmail); found {
			t.Error("another customer found the code")
		}
	})

	t.Run("a write from a stale read is refused", func(t *testing.T) {
		s := newStore(t)
		first := code("Customer:1", kyc.ChannelPhone, t0, "mac-1")
		if err := s.PutContactCode(ctx, time.Time{}, first); err != nil {
			t.Fatal(err)
		}
		// A second first send (it read no record) loses.
		if err := s.PutContactCode(ctx, time.Time{}, code("Customer:1", kyc.ChannelPhone, t0, "mac-x")); !errors.Is(err, kyc.ErrChanged) {
			t.Fatalf("second insert = %v; want ErrChanged", err)
		}
		second := code("Customer:1", kyc.ChannelPhone, t0.Add(time.Minute), "mac-2")
		second.Sends = 2
		if err := s.PutContactCode(ctx, t0.Add(time.Second), second); !errors.Is(err, kyc.ErrChanged) {
			t.Fatalf("put from a wrong sentAt = %v; want ErrChanged", err)
		}
		if err := s.PutContactCode(ctx, t0, second); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(second, read(t, s, "Customer:1", kyc.ChannelPhone)); diff != "" {
			t.Errorf("after the resend (-want +got):\n%s", diff)
		}
	})

	t.Run("twenty parallel sends from one read: one writes", func(t *testing.T) {
		s := newStore(t)
		var wg sync.WaitGroup
		var won atomic.Int64
		for i := range 20 {
			wg.Go(func() {
				err := s.PutContactCode(ctx, time.Time{}, code("Customer:1", kyc.ChannelEmail, t0, "mac-"+string(rune('a'+i))))
				if err == nil {
					won.Add(1)
				} else if !errors.Is(err, kyc.ErrChanged) {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if won.Load() != 1 {
			t.Errorf("%d sends wrote; want 1", won.Load())
		}
	})

	t.Run("twenty parallel wrong guesses: exactly the limit counted", func(t *testing.T) {
		s := newStore(t)
		c := code("Customer:1", kyc.ChannelEmail, t0, "mac-1")
		if err := s.PutContactCode(ctx, time.Time{}, c); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		var counted atomic.Int64
		for range 20 {
			wg.Go(func() {
				ok, err := s.CountWrongCode(ctx, "Customer:1", kyc.ChannelEmail, c.CodeMAC, kyc.MaxWrongCodes)
				if err != nil {
					t.Error(err)
				}
				if ok {
					counted.Add(1)
				}
			})
		}
		wg.Wait()
		if counted.Load() != kyc.MaxWrongCodes {
			t.Errorf("%d wrong guesses counted; want %d", counted.Load(), kyc.MaxWrongCodes)
		}
		if got := read(t, s, "Customer:1", kyc.ChannelEmail).Attempts; got != kyc.MaxWrongCodes {
			t.Errorf("attempts = %d; want %d", got, kyc.MaxWrongCodes)
		}
		// The code is dead: the right guess cannot use it.
		if used, err := s.UseContactCode(ctx, "Customer:1", kyc.ChannelEmail, c.CodeMAC, kyc.MaxWrongCodes); used || err != nil {
			t.Errorf("UseContactCode after the limit = %v, %v; want false", used, err)
		}
	})

	t.Run("a guess at a replaced code counts nothing", func(t *testing.T) {
		s := newStore(t)
		c := code("Customer:1", kyc.ChannelEmail, t0, "mac-1")
		if err := s.PutContactCode(ctx, time.Time{}, c); err != nil {
			t.Fatal(err)
		}
		if ok, err := s.CountWrongCode(ctx, "Customer:1", kyc.ChannelEmail, []byte("mac-old"), kyc.MaxWrongCodes); ok || err != nil {
			t.Errorf("CountWrongCode of another code = %v, %v", ok, err)
		}
		if ok, err := s.CountWrongCode(ctx, "Customer:9", kyc.ChannelEmail, c.CodeMAC, kyc.MaxWrongCodes); ok || err != nil {
			t.Errorf("CountWrongCode of no record = %v, %v", ok, err)
		}
		if used, err := s.UseContactCode(ctx, "Customer:1", kyc.ChannelEmail, []byte("mac-old"), kyc.MaxWrongCodes); used || err != nil {
			t.Errorf("UseContactCode of another code = %v, %v", used, err)
		}
		if got := read(t, s, "Customer:1", kyc.ChannelEmail); got.Attempts != 0 || got.Used {
			t.Errorf("record changed: %+v", got)
		}
	})

	t.Run("a code is used once; restored it can be used again", func(t *testing.T) {
		s := newStore(t)
		c := code("Customer:1", kyc.ChannelPhone, t0, "mac-1")
		if err := s.PutContactCode(ctx, time.Time{}, c); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		var used atomic.Int64
		for range 10 {
			wg.Go(func() {
				ok, err := s.UseContactCode(ctx, "Customer:1", kyc.ChannelPhone, c.CodeMAC, kyc.MaxWrongCodes)
				if err != nil {
					t.Error(err)
				}
				if ok {
					used.Add(1)
				}
			})
		}
		wg.Wait()
		if used.Load() != 1 {
			t.Fatalf("%d parallel uses succeeded; want 1", used.Load())
		}
		if !read(t, s, "Customer:1", kyc.ChannelPhone).Used {
			t.Error("the record does not say used")
		}
		if err := s.UnuseContactCode(ctx, "Customer:1", kyc.ChannelPhone, c.CodeMAC); err != nil {
			t.Fatal(err)
		}
		if ok, err := s.UseContactCode(ctx, "Customer:1", kyc.ChannelPhone, c.CodeMAC, kyc.MaxWrongCodes); !ok || err != nil {
			t.Errorf("UseContactCode after the restore = %v, %v", ok, err)
		}
	})

	t.Run("an undelivered code cannot be used until marked delivered", func(t *testing.T) {
		s := newStore(t)
		c := code("Customer:1", kyc.ChannelEmail, t0, "mac-1")
		c.Delivered, c.Sends = false, 3
		if err := s.PutContactCode(ctx, time.Time{}, c); err != nil {
			t.Fatal(err)
		}
		if used, err := s.UseContactCode(ctx, "Customer:1", kyc.ChannelEmail, c.CodeMAC, kyc.MaxWrongCodes); used || err != nil {
			t.Fatalf("UseContactCode of an undelivered code = %v, %v", used, err)
		}
		// Marking another code, or no record, changes nothing.
		if err := s.MarkCodeDelivered(ctx, "Customer:1", kyc.ChannelEmail, []byte("mac-other")); err != nil {
			t.Fatal(err)
		}
		if err := s.MarkCodeDelivered(ctx, "Customer:9", kyc.ChannelEmail, c.CodeMAC); err != nil {
			t.Fatalf("marking no record: %v", err)
		}
		if read(t, s, "Customer:1", kyc.ChannelEmail).Delivered {
			t.Fatal("marking another code delivered marked this one")
		}
		for range 2 { // twice: marking is safe to repeat
			if err := s.MarkCodeDelivered(ctx, "Customer:1", kyc.ChannelEmail, c.CodeMAC); err != nil {
				t.Fatal(err)
			}
		}
		want := c
		want.Delivered = true
		if diff := cmp.Diff(want, read(t, s, "Customer:1", kyc.ChannelEmail)); diff != "" {
			t.Errorf("after marking (-want +got):\n%s", diff)
		}
		if used, err := s.UseContactCode(ctx, "Customer:1", kyc.ChannelEmail, c.CodeMAC, kyc.MaxWrongCodes); !used || err != nil {
			t.Errorf("UseContactCode of the delivered code = %v, %v", used, err)
		}
	})
}
