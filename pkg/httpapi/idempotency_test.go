//go:build integration

package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/grid-kyc/kyc-link/internal/motoserver"
	"github.com/grid-kyc/kyc-link/internal/motostack"
	"github.com/grid-kyc/kyc-link/pkg/awsstore"
	"github.com/grid-kyc/kyc-link/pkg/idempotency"
	"github.com/grid-kyc/kyc-link/pkg/memstore"
)

var moto *motoserver.Server

func TestMain(m *testing.M) { os.Exit(motoserver.Main(m, &moto)) }

func dynamoIdem(t *testing.T) idempotency.Store {
	moto := moto.Need(t)
	name := motostack.New(t, moto, motostack.Options{Only: []string{"IdempotencyTable"}}).Names["IdempotencyTable"]
	return &awsstore.Idempotency{Client: moto.DynamoDB(), Table: name}
}

func TestIdempotencyThroughHandler(t *testing.T) {
	for name, store := range map[string]func(t *testing.T) idempotency.Store{
		"memory":   func(*testing.T) idempotency.Store { return memstore.NewIdempotency() },
		"dynamodb": dynamoIdem,
	} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, store(t))
			first := e.do(post(link(custA), `{"redirectUri":"https://a.example/x"}`, "Idempotency-Key", "k1"))
			// Whitespace and key order do not make another request.
			again := e.do(post(link(custA), " {\"redirectUri\" : \"https://a.example/x\"}\n", "Idempotency-Key", "k1"))
			if first.Code != 201 || again.Code != 201 || first.Body.String() != again.Body.String() {
				t.Fatalf("first %d %s, again %d %s", first.Code, first.Body, again.Code, again.Body)
			}
			if again.Header().Get("Idempotent-Replayed") != "true" || first.Header().Get("Idempotent-Replayed") != "" {
				t.Fatalf("Idempotent-Replayed: first %q, again %q", first.Header().Get("Idempotent-Replayed"), again.Header().Get("Idempotent-Replayed"))
			}
			if again.Header().Get("X-Request-Id") == first.Header().Get("X-Request-Id") {
				t.Fatal("a replay must carry its own request id")
			}
			// Whitespace around the key is not part of it (net/http strips
			// it locally, API Gateway events keep it): the same key.
			padded := e.do(post(link(custA), `{"redirectUri":"https://a.example/x"}`, "Idempotency-Key", " \tk1  "))
			if padded.Code != 201 || padded.Header().Get("Idempotent-Replayed") != "true" {
				t.Fatalf("key with surrounding whitespace = %d replayed=%q; want the replay of k1", padded.Code, padded.Header().Get("Idempotent-Replayed"))
			}
			for _, r := range []req{
				post(link(custA), `{"redirectUri":"https://a.example/other"}`, "Idempotency-Key", "k1"),
				post(link("Customer:other"), `{"redirectUri":"https://a.example/x"}`, "Idempotency-Key", "k1"),
			} {
				w := e.do(r)
				ge := checkError(t, w, 409, "CONFLICT")
				if ge.Details["reason"] != "IDEMPOTENCY_KEY_REUSED" || w.Header().Get("X-Should-Retry") != "false" {
					t.Fatalf("mismatch answer = %+v %v", ge, w.Header())
				}
			}
			// Another platform's identical key is its own request.
			other := e.do(post(link(custA), `{"redirectUri":"https://a.example/x"}`, "Idempotency-Key", "k1", "Authorization", basic("tok-b", "secret-b")))
			checkError(t, other, 404, "USER_NOT_FOUND")
			if e.provider.calls.Load() != 1 {
				t.Fatalf("provider called %d times; want 1", e.provider.calls.Load())
			}
			// No key: every call is fresh.
			e.do(post(link(custA), ``))
			e.do(post(link(custA), ``))
			if e.provider.calls.Load() != 3 {
				t.Fatalf("provider called %d times; want 3", e.provider.calls.Load())
			}
		})
	}
}

func TestFailureIsNotStored(t *testing.T) {
	e := newEnv(t, dynamoIdem(t))
	checkError(t, e.do(post(link("Customer:missing"), ``, "Idempotency-Key", "k")), 404, "USER_NOT_FOUND")
	e.provider.err = fmt.Errorf("down")
	checkError(t, e.do(post(link(custA), ``, "Idempotency-Key", "k2")), 500, "INTERNAL_ERROR")
	e.provider.err = nil
	if w := e.do(post(link(custA), ``, "Idempotency-Key", "k2")); w.Code != 201 || w.Header().Get("Idempotent-Replayed") != "" {
		t.Fatalf("retry after a failure = %d replayed=%q; want a fresh 201", w.Code, w.Header().Get("Idempotent-Replayed"))
	}
}

// TestConcurrentDuplicates sends one key 50 times at once through the whole
// handler, with a slow provider: one link is made, every 201 is the same,
// anything else is the documented in-progress 409. The memory store is
// exactly-once by construction; DynamoDB's is by its conditional PutItem,
// which moto makes atomic only through the harness (internal/motoserver).
func TestConcurrentDuplicates(t *testing.T) {
	for name, store := range map[string]func(t *testing.T) idempotency.Store{
		"memory":   func(*testing.T) idempotency.Store { return memstore.NewIdempotency() },
		"dynamodb": dynamoIdem,
	} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, store(t))
			e.provider.delay = 300 * time.Millisecond
			// Generous store deadlines: 50 calls queue in the emulator (one
			// DynamoDB call at a time) on a loaded machine, and a Complete
			// that misses its step frees the key for a second run by design
			// (TestGuardReleasesAfterCompleteTimesOut), which is not this
			// test's subject.
			e.srv.Timeout, e.srv.Idempotency.CleanupStep = 30*time.Second, 5*time.Second
			const n = 50
			var wg sync.WaitGroup
			results := make([]struct {
				code            int
				body, retry, ms string
			}, n)
			for i := range n {
				wg.Go(func() {
					w := e.do(post(link(custA), `{}`, "Idempotency-Key", "same-key"))
					results[i].code, results[i].body = w.Code, w.Body.String()
					results[i].retry, results[i].ms = w.Header().Get("Retry-After"), w.Header().Get("Retry-After-Ms")
				})
			}
			wg.Wait()
			if c := e.provider.calls.Load(); c != 1 {
				t.Fatalf("provider called %d times; want exactly 1", c)
			}
			var created string
			count201 := 0
			for _, r := range results {
				switch r.code {
				case 201:
					count201++
					if created == "" {
						created = r.body
					}
					if r.body != created {
						t.Fatalf("two different 201 bodies:\n%s\n%s", created, r.body)
					}
				case 409:
					if r.retry == "" || r.ms == "" || !strings.Contains(r.body, "IDEMPOTENCY_KEY_IN_USE") {
						t.Fatalf("409 without retry headers or reason: %+v", r)
					}
				default:
					t.Fatalf("unexpected answer %d %s", r.code, r.body)
				}
			}
			if count201 == 0 {
				t.Fatal("no request got the 201")
			}
			t.Logf("%d x 201, %d x 409", count201, n-count201)
		})
	}
}

// TestCrashedRequest: a request killed mid-flight (its context cancelled,
// nothing released) blocks retries only until its lock expires.
func TestCrashedRequest(t *testing.T) {
	store := dynamoIdem(t)
	e := newEnv(t, store)
	e.srv.Idempotency.LockMargin = 200 * time.Millisecond
	e.srv.Idempotency.MaxWait = 100 * time.Millisecond
	// Simulate the crash at the store level: the record a killed invocation
	// leaves behind, with the lock ending at its deadline plus margin.
	now := time.Now()
	secret, _ := e.srv.Idempotency.Secret(context.Background())
	fp, _ := idempotency.Fingerprint(secret, idempotency.Payload{Method: "POST", Path: link(custA), Body: []byte(`{}`)})
	put := store.(*awsstore.Idempotency).Put
	if err := put(context.Background(), idempotency.Record{
		Key: idempotency.Key(secret, "platform-a", "crash-key"), Fingerprint: fp, Status: idempotency.InProgress,
		LockToken: "dead", LockExpiresAt: now.Add(1500 * time.Millisecond), ExpiresAt: now.Add(24 * time.Hour),
	}); err != nil {
		t.Fatal(err)
	}
	w := e.do(post(link(custA), `{}`, "Idempotency-Key", "crash-key"))
	ge := checkError(t, w, 409, "CONFLICT")
	if ge.Details["reason"] != "IDEMPOTENCY_KEY_IN_USE" || w.Header().Get("Retry-After") == "" {
		t.Fatalf("retry inside the lock = %+v %v", ge, w.Header())
	}
	time.Sleep(time.Until(now.Add(1600 * time.Millisecond)))
	if w := e.do(post(link(custA), `{}`, "Idempotency-Key", "crash-key")); w.Code != 201 || w.Header().Get("Idempotent-Replayed") != "" {
		t.Fatalf("retry after the lock = %d %s; want a fresh 201", w.Code, w.Body)
	}
}

// expiryStore records the expiry the guard asks a completed record to have.
type expiryStore struct {
	idempotency.Store
	mu  sync.Mutex
	got time.Time
}

func (s *expiryStore) Complete(ctx context.Context, key, token string, resp idempotency.Response) error {
	s.mu.Lock()
	s.got = resp.ExpiresAt
	s.mu.Unlock()
	return s.Store.Complete(ctx, key, token, resp)
}

// TestStoredLinkEndsWithTheLink: the idempotency record of a link lives
// no longer than the link (its expiresAt), not the record's full 24 h.
func TestStoredLinkEndsWithTheLink(t *testing.T) {
	store := &expiryStore{Store: memstore.NewIdempotency()}
	e := newEnv(t, store)
	w := e.do(post(link(custA), `{}`, "Idempotency-Key", "expiring"))
	var body struct{ ExpiresAt time.Time }
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || w.Code != 201 {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	store.mu.Lock()
	defer store.mu.Unlock()
	if !store.got.Equal(body.ExpiresAt) {
		t.Fatalf("record expires %s; want the link's expiresAt %s", store.got, body.ExpiresAt)
	}
}
