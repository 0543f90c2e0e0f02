package idempotency_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/grid-kyc/kyc-link/pkg/idempotency"
)

// TestGuardDoWithIntent: a caller's intent is the one a fresh record gets
// (so work started under it before the acquire is the record's work); a
// record taken over keeps the first attempt's, and fn is given that one;
// a duplicate runs nothing. An intent that is not a UUID is refused
// before anything is written.
func TestGuardDoWithIntent(t *testing.T) {
	backends(t, func(t *testing.T, s idempotency.Store) {
		g := &idempotency.Guard{Secret: secret, Store: s}
		ctx := withDeadline(t, 5*time.Second)
		proposed := func() string { return uuid.Must(uuid.NewV7()).String() }
		intents, answer := intentsOf()

		a := proposed()
		if resp, replayed, err := g.DoWithIntent(ctx, "p", "k", pl("fp"), a, answer(201)); err != nil || replayed || resp.Status != 201 {
			t.Fatalf("first = %d, %v, %v", resp.Status, replayed, err)
		}
		resp, replayed, err := g.DoWithIntent(ctx, "p", "k", pl("fp"), proposed(), answer(201))
		if err != nil || !replayed || string(resp.Body) != a {
			t.Fatalf("duplicate = %s, replayed %v, %v; want the first's answer, under %s", resp.Body, replayed, err, a)
		}
		if len(*intents) != 1 || (*intents)[0] != a {
			t.Fatalf("intents %q; want only the proposed %s", *intents, a)
		}

		// A failed attempt under b; its retry proposes c and runs under b.
		*intents = nil
		b, c := proposed(), proposed()
		g.DoWithIntent(ctx, "p", "k2", pl("fp"), b, answer(503))
		if resp, _, err := g.DoWithIntent(ctx, "p", "k2", pl("fp"), c, answer(201)); err != nil || resp.Status != 201 {
			t.Fatalf("retry = %d, %v", resp.Status, err)
		}
		if len(*intents) != 2 || (*intents)[0] != b || (*intents)[1] != b {
			t.Fatalf("intents %q; want %s twice (the takeover keeps the first attempt's, not the proposed %s)", *intents, b, c)
		}

		// A refusal frees the key: the corrected request runs afresh under its own.
		*intents = nil
		d, e := proposed(), proposed()
		g.DoWithIntent(ctx, "p", "k3", pl("fp"), d, answer(400))
		g.DoWithIntent(ctx, "p", "k3", pl("corrected"), e, answer(201))
		if len(*intents) != 2 || (*intents)[0] != d || (*intents)[1] != e {
			t.Fatalf("intents %q; want %s then %s", *intents, d, e)
		}

		ran := false
		if _, _, err := g.DoWithIntent(ctx, "p", "k4", pl("fp"), "not-a-uuid", func(context.Context, string) idempotency.Response {
			ran = true
			return created("x")
		}); err == nil || ran {
			t.Fatalf("an intent that is not a UUID = %v, ran %v; want refused", err, ran)
		}
		key, _ := secret(ctx)
		if rec, err := s.Get(ctx, idempotency.Key(key, "p", "k4")); err != nil || rec != nil {
			t.Fatalf("after the refused intent the key holds %+v, %v; want nothing", rec, err)
		}
	})
}
