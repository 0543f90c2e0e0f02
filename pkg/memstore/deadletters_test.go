package memstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/grid-kyc/kyc-link/pkg/kyc"
	"github.com/grid-kyc/kyc-link/pkg/memstore"
	"github.com/grid-kyc/kyc-link/pkg/webhooks"
)

// TestDeadLetters: kept by webhook id as the table keeps them (a dead
// letter put again replaces the one it had), listed oldest first, removed
// by id.
func TestDeadLetters(t *testing.T) {
	ctx := context.Background()
	at := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	letter := func(id string, attempts int, dead time.Time) webhooks.DeadLetter {
		return webhooks.DeadLetter{Notice: kyc.Notice{ID: id, Body: []byte(`{}`)}, Attempts: attempts, DeadAt: dead}
	}
	for _, tc := range []struct {
		name   string
		put    []webhooks.DeadLetter
		remove []string
		want   []webhooks.DeadLetter
	}{
		{name: "empty"},
		{name: "oldest first", put: []webhooks.DeadLetter{letter("Webhook:b", 1, at.Add(time.Minute)), letter("Webhook:a", 1, at)},
			want: []webhooks.DeadLetter{letter("Webhook:a", 1, at), letter("Webhook:b", 1, at.Add(time.Minute))}},
		{name: "put again replaces", put: []webhooks.DeadLetter{letter("Webhook:a", 1, at), letter("Webhook:a", 2, at.Add(time.Hour))},
			want: []webhooks.DeadLetter{letter("Webhook:a", 2, at.Add(time.Hour))}},
		{name: "removed", put: []webhooks.DeadLetter{letter("Webhook:a", 1, at), letter("Webhook:b", 1, at)}, remove: []string{"Webhook:a", "Webhook:none"},
			want: []webhooks.DeadLetter{letter("Webhook:b", 1, at)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := &memstore.DeadLetters{}
			for _, dl := range tc.put {
				if err := d.Put(ctx, dl); err != nil {
					t.Fatal(err)
				}
			}
			for _, id := range tc.remove {
				if err := d.Remove(ctx, id); err != nil {
					t.Fatal(err)
				}
			}
			got, err := d.List(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("List (-want +got):\n%s", diff)
			}
		})
	}
}
