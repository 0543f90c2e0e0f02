package httpapi_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/grid-kyc/kyc-link/pkg/auth"
	"github.com/grid-kyc/kyc-link/pkg/httpapi"
	"github.com/grid-kyc/kyc-link/pkg/idempotency"
	"github.com/grid-kyc/kyc-link/pkg/kyc"
	"github.com/grid-kyc/kyc-link/pkg/memstore"
	"github.com/grid-kyc/kyc-link/pkg/secrets"
)

// sealEnv serves POST /customers on memory stores with a sealer and an
// idempotency store the test wraps.
type sealEnv struct {
	customers *memstore.Customers
	sealer    *memstore.Sealer
	h         func(body string, header ...string) (int, string)
}

func newSealEnv(t *testing.T, wrapSealer func(kyc.Sealer) kyc.Sealer, store idempotency.Store) *sealEnv {
	t.Helper()
	e := &sealEnv{customers: memstore.NewCustomers(), sealer: memstore.NewSealer()}
	tokens := &secrets.Cached[auth.Tokens]{Source: secrets.Memory{"tokens": tokensSecret()}, ID: "tokens", Parse: auth.ParseTokens, MaxAge: time.Minute}
	platform := &httpapi.Platform{Customers: &kyc.Customers{Store: e.customers, Sealer: wrapSealer(e.sealer),
		CursorKey: memstore.RandomKey(), Now: time.Now}}
	srv := &httpapi.Server{Platform: platform, Logger: slog.New(slog.NewJSONHandler(io.Discard, nil)), Timeout: 10 * time.Second,
		Auth: &auth.Authenticator{Tokens: tokens}, Idempotency: &idempotency.Guard{Secret: memstore.RandomKey(), Store: store}}
	h := srv.Handler()
	e.h = func(body string, header ...string) (int, string) {
		r := httptest.NewRequest("POST", "http://api.test/customers", strings.NewReader(body))
		r.Header.Set("Authorization", basic("tok-a", secretA))
		r.Header.Set("Content-Type", "application/json")
		for i := 0; i+1 < len(header); i += 2 {
			r.Header.Set(header[i], header[i+1])
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w.Code, w.Body.String()
	}
	return e
}

// opens checks that the customer id answered in body keeps its identifier
// sealed for itself: the ciphertext opens for that id and platform.
func (e *sealEnv) opens(t *testing.T, body string) string {
	t.Helper()
	id := strings.Split(strings.Split(body, `"id":"`)[1], `"`)[0]
	r, err := e.customers.CustomerRecord(context.Background(), id)
	if err != nil {
		t.Fatalf("customer %s: %v", id, err)
	}
	if plain, err := e.sealer.Open(r.IdentifierSealed, id, "platform-a"); err != nil || string(plain) != "123-45-6789" {
		t.Fatalf("the identifier stored for %s does not open for it: %q, %v", id, plain, err)
	}
	return id
}

const withIdentifier = `{"customerType":"INDIVIDUAL","idType":"SSN","identifier":"123-45-6789"}`

type sealFunc func(ctx context.Context, plaintext []byte, customerID, platformID string) ([]byte, error)

func (f sealFunc) Seal(ctx context.Context, plaintext []byte, customerID, platformID string) ([]byte, error) {
	return f(ctx, plaintext, customerID, platformID)
}

// meetingAcquire is an idempotency store whose Acquire meets the seal.
type meetingAcquire struct {
	idempotency.Store
	r *sealRendezvous
}

func (m meetingAcquire) Acquire(ctx context.Context, rec idempotency.Record, now time.Time) (*idempotency.Record, error) {
	if err := m.r.meet(m.r.acquire, m.r.seal); err != nil {
		return nil, err
	}
	return m.Store.Acquire(ctx, rec, now)
}

type sealRendezvous struct{ seal, acquire chan struct{} }

func (r *sealRendezvous) meet(mine, theirs chan struct{}) error {
	close(mine)
	select {
	case <-theirs:
		return nil
	case <-time.After(2 * time.Second):
		return errors.New("the other call never started: the seal and the acquire ran one after the other")
	}
}

// TestSealRunsAlongsideAcquire: with a key, POST /customers seals the
// identifier (KMS) and acquires the key (DynamoDB) side by side, one
// round trip, not two: the two calls wait for each other, and run one
// after the other they would never meet. The identifier is sealed for the
// very customer stored.
func TestSealRunsAlongsideAcquire(t *testing.T) {
	r := &sealRendezvous{seal: make(chan struct{}), acquire: make(chan struct{})}
	e := newSealEnv(t, func(s kyc.Sealer) kyc.Sealer {
		return sealFunc(func(ctx context.Context, p []byte, customerID, platformID string) ([]byte, error) {
			if err := r.meet(r.seal, r.acquire); err != nil {
				return nil, kyc.Unavailable(kyc.DepKeys, "test", time.Second, err)
			}
			return s.Seal(ctx, p, customerID, platformID)
		})
	}, meetingAcquire{Store: memstore.NewIdempotency(), r: r})
	code, body := e.h(withIdentifier, "Idempotency-Key", "together")
	if code != 201 {
		t.Fatalf("%d %s; want 201 with the seal and the acquire side by side", code, body)
	}
	e.opens(t, body)
}

// TestCreateSealsForTheCustomerItStores: the seal started before the
// acquire is for the id a fresh record gets; when the key's record is
// taken over, its first attempt's intent names the customer, and the
// identifier is sealed again for that one (never stored under another
// customer than it was sealed for). A replay waits for no seal (the one
// it started ends with the request), and a KMS outage is the same 503 as
// before.
func TestCreateSealsForTheCustomerItStores(t *testing.T) {
	var mu sync.Mutex
	var down, hang bool
	var sealedFor []string
	hung := make(chan struct{}, 1)
	e := newSealEnv(t, func(s kyc.Sealer) kyc.Sealer {
		return sealFunc(func(ctx context.Context, p []byte, customerID, platformID string) ([]byte, error) {
			mu.Lock()
			d, h := down, hang
			sealedFor = append(sealedFor, customerID)
			mu.Unlock()
			if h {
				<-ctx.Done()
				hung <- struct{}{}
				return nil, kyc.Unavailable(kyc.DepKeys, "The key service is temporarily unavailable.", time.Second, ctx.Err())
			}
			if d {
				return nil, kyc.Unavailable(kyc.DepKeys, "The key service is temporarily unavailable.", time.Second, errors.New("KMS down"))
			}
			return s.Seal(ctx, p, customerID, platformID)
		})
	}, memstore.NewIdempotency())
	set := func(d, h bool) { mu.Lock(); down, hang, sealedFor = d, h, nil; mu.Unlock() }

	// KMS down: 503 and the key's record kept for the retry, under its intent.
	set(true, false)
	if code, body := e.h(withIdentifier, "Idempotency-Key", "k1"); code != 503 || !strings.Contains(body, "SERVICE_UNAVAILABLE") {
		t.Fatalf("create with KMS down = %d %s; want 503", code, body)
	}
	first := sealedFor[0]
	// The retry draws another id and starts sealing for it, but the record
	// it takes over names the first attempt's customer: sealed again, for that one.
	set(false, false)
	code, body := e.h(withIdentifier, "Idempotency-Key", "k1")
	if code != 201 {
		t.Fatalf("retry = %d %s", code, body)
	}
	if id := e.opens(t, body); id != first {
		t.Fatalf("stored %s; want the first attempt's %s", id, first)
	}
	// The speculative seal may reach the sealer after the answer.
	seals := func() []string { mu.Lock(); defer mu.Unlock(); return slices.Clone(sealedFor) }
	for end := time.Now().Add(2 * time.Second); len(seals()) < 2 && time.Now().Before(end); {
		time.Sleep(time.Millisecond)
	}
	if got := seals(); len(got) != 2 || !slices.Contains(got, first) || got[0] == got[1] {
		t.Fatalf("the retry's seals are for %q; want one for the id it drew, one for %s", got, first)
	}
	// A replay answers without waiting for its seal (which would hang).
	set(false, true)
	start := time.Now()
	if code, again := e.h(withIdentifier, "Idempotency-Key", "k1"); code != 201 || again != body {
		t.Fatalf("replay = %d %s; want the stored answer", code, again)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("the replay took %v: it waited for the seal", took)
	}
	select { // the seal it did not use ends with the request
	case <-hung:
	case <-time.After(5 * time.Second):
		t.Fatal("the replay's seal outlived the request")
	}
	// Without a key: one seal, for the customer stored.
	set(false, false)
	code, body = e.h(withIdentifier)
	if code != 201 {
		t.Fatalf("create without a key = %d %s", code, body)
	}
	if id := e.opens(t, body); len(sealedFor) != 1 || sealedFor[0] != id {
		t.Fatalf("seals for %q; want one, for %s", sealedFor, id)
	}
}
