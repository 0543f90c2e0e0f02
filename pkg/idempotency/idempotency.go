// Package idempotency makes a request handler safe to retry: the first
// request with a key runs, later ones with the same key and payload get its
// stored response. It is built for AWS Lambda with DynamoDB conditional
// writes (pkg/awsstore.Idempotency keeps the records) and works the same in
// memory (pkg/memstore.Idempotency).
//
// The policy:
//   - A record belongs to a scope (the caller's identity) and a key; the
//     stored key is an HMAC of both, so equal keys of two callers never meet.
//   - A request is a duplicate only when key and payload fingerprint match;
//     the same key with another payload is ErrKeyReused. The fingerprint is
//     an HMAC too, keyed with a secret the table never holds: a payload
//     holds personal data (a tax id), and an unkeyed hash of it can be
//     reversed by guessing.
//   - The first request holds a lock until its deadline plus LockMargin, so a
//     crashed or timed-out request never blocks its retries for longer.
//   - A duplicate that arrives while the first runs waits for it (bounded by
//     its own deadline and MaxWait) and replays its response, or gets
//     ErrKeyInUse.
//   - Every record carries an intent: a UUIDv7 drawn when the key is first
//     seen, handed to the handler, which names what it creates after it. A
//     retry after a failure that may have had effects (a 5xx, an answer
//     lost on the way, a crash) takes the record over with the same intent,
//     so it finds what the first attempt made instead of making a second.
//   - Only responses Keep accepts are stored. A 4xx (a refusal that changed
//     nothing) deletes the record, so a corrected request may use the key;
//     any other failure keeps it, unlocked, for the retry to take over.
//   - Records expire TTL after creation (24 h by default), or when the
//     stored response does (Response.ExpiresAt), whichever is first; an
//     expired record counts as absent even before DynamoDB's TTL deletes it.
package idempotency

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/google/uuid"
)

// Errors Do returns besides the store's own.
var (
	ErrKeyReused = errors.New("idempotency: key reused with a different payload")
	ErrKeyInUse  = errors.New("idempotency: a request with this key is still in progress")
	// ErrNotOwner is a store's answer when the record is no longer held by
	// the lock token given (it expired and was taken over).
	ErrNotOwner = errors.New("idempotency: record is not held by this lock token")
)

// Response is a stored HTTP response.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
	// ExpiresAt, when set, is when the response stops being worth
	// replaying (a link that expires): the record then ends at the earlier
	// of it and the Guard's TTL, and the key runs afresh after it.
	ExpiresAt time.Time
}

// Status of a record.
type Status string

const (
	InProgress Status = "INPROGRESS"
	Completed  Status = "COMPLETED"
)

// Record is one stored key.
type Record struct {
	Key         string
	Fingerprint string
	Status      Status
	LockToken   string
	// LockExpiresAt ends an in-progress record's hold on the key.
	LockExpiresAt time.Time
	// ExpiresAt ends the record (the table's TTL attribute).
	ExpiresAt time.Time
	// Intent is the UUID the handler names what it creates after; it
	// stays the same across takeovers.
	Intent   string
	Response *Response // set once Completed
}

// Live reports whether r still holds its key at now. The comparisons are
// the ones DynamoDB's condition makes, at the same precision.
func (r *Record) Live(now time.Time) bool {
	if r.Expired(now) {
		return false
	}
	return r.Status == Completed || r.LockExpiresAt.UnixMilli() >= now.UnixMilli()
}

// Expired reports whether r has ended at now (it counts as absent).
func (r *Record) Expired(now time.Time) bool { return r.ExpiresAt.Unix() < now.Unix() }

// Store keeps records. Implementations must make Acquire and TakeOver
// atomic, and every write must count "the record is already as this write
// would leave it" as success, because a client may re-send a write whose
// answer it lost.
type Store interface {
	// Acquire writes rec unless an unexpired record holds rec.Key at now
	// (whatever its state: an unlocked one is for TakeOver); then it
	// writes nothing and returns that record.
	Acquire(ctx context.Context, rec Record, now time.Time) (existing *Record, err error)
	// TakeOver gives the in-progress record of rec.Key, held by fromToken
	// with its lock expired at now, to rec.LockToken until
	// rec.LockExpiresAt, and makes it end at rec.ExpiresAt; everything
	// else stays (the intent above all).
	// false when the record is not in that state (another took it over).
	TakeOver(ctx context.Context, rec Record, fromToken string, now time.Time) (bool, error)
	// Get reads a record with a consistent read; nil when there is none.
	Get(ctx context.Context, key string) (*Record, error)
	// Complete stores resp in the in-progress record held by lockToken
	// and sets the record's expiry to resp.ExpiresAt (nil too if that
	// token completed it already); ErrNotOwner if another holds it or it
	// is gone.
	Complete(ctx context.Context, key, lockToken string, resp Response) error
	// Release deletes the in-progress record held by lockToken (nil too if
	// there is none); ErrNotOwner if another token holds it or it is
	// completed.
	Release(ctx context.Context, key, lockToken string) error
	// Abandon ends lockToken's hold on its in-progress record and keeps
	// the record (its lock expires at once), for a retry to take over
	// with its intent; nil too if it is already so, ErrNotOwner if
	// another token holds it or it is completed or gone.
	Abandon(ctx context.Context, key, lockToken string) error
}

// Guard runs handlers at most once per key.
type Guard struct {
	Store Store
	// Secret returns the key of the stored keys' and fingerprints' HMAC
	// (at least 32 bytes; the same in every instance, or their records
	// never meet). It is never stored beside them.
	Secret func(ctx context.Context) ([]byte, error)
	// TTL is how long a record is kept (default 24 h).
	TTL time.Duration
	// LockMargin is added to the request's deadline to get the lock's
	// (default 2 s).
	LockMargin time.Duration
	// MaxWait bounds how long a duplicate waits for the first (default 5 s).
	MaxWait time.Duration
	// CleanupStep bounds each of the two store calls after the handler
	// (Complete, then Release if needed). The handler runs until the
	// request's deadline less two steps, so the answer, cleanup included,
	// is ready by the deadline (default 250 ms).
	CleanupStep time.Duration
	// Keep says which responses are stored (default: 2xx).
	Keep   func(Response) bool
	Now    func() time.Time
	Logger *slog.Logger
}

func (g *Guard) now() time.Time {
	if g.Now != nil {
		return g.Now()
	}
	return time.Now()
}

func orDefault(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// Key derives the stored key from the caller's scope and its key: an
// HMAC keyed with secret, so the table never holds client keys, and one
// caller's key cannot be used to look up another's record.
func Key(secret []byte, scope, key string) string {
	h := hmac.New(sha256.New, secret)
	fmt.Fprintf(h, "key\n%d:%s:%s", len(scope), scope, key)
	return hex.EncodeToString(h.Sum(nil))
}

// Payload is what a request asks for; a duplicate asks for the same.
type Payload struct {
	Method, Path string
	// Body is JSON (compared as canonical JSON, so whitespace and key
	// order do not matter; empty is {}).
	Body []byte
}

// Fingerprint identifies a payload: an HMAC keyed with secret over the
// method, path and the body as canonical JSON. Keyed, because the body
// holds personal data a plain hash would let anyone with the table
// recover by guessing (an SSN is 10^9 guesses).
func Fingerprint(secret []byte, p Payload) (string, error) {
	canonical := []byte("{}")
	if len(bytes.TrimSpace(p.Body)) > 0 {
		var v any
		dec := json.NewDecoder(bytes.NewReader(p.Body))
		dec.UseNumber()
		if err := dec.Decode(&v); err != nil {
			return "", fmt.Errorf("idempotency: fingerprint: body is not JSON: %w", err)
		}
		var err error
		if canonical, err = json.Marshal(v); err != nil {
			return "", fmt.Errorf("idempotency: fingerprint: %w", err)
		}
	}
	h := hmac.New(sha256.New, secret)
	fmt.Fprintf(h, "fingerprint\n%s\n%s\n", p.Method, p.Path)
	h.Write(canonical)
	return hex.EncodeToString(h.Sum(nil)), nil
}

// minSecret is the shortest HMAC key the guard accepts.
const minSecret = 32

// Do runs fn once for (scope, key) and stores its response; a duplicate
// gets that response with replayed true. fn's context is ctx; its intent
// is the record's (the same for every attempt of one key and payload).
func (g *Guard) Do(ctx context.Context, scope, key string, p Payload, fn func(ctx context.Context, intent string) Response) (resp Response, replayed bool, err error) {
	return g.DoWithIntent(ctx, scope, key, p, "", fn)
}

// DoWithIntent is Do with intent, a fresh UUID the caller drew, as the
// intent of a record this call writes afresh (Do draws one itself), so the
// caller can start work named after it before the key is acquired: the
// seal of a new customer's identifier, bound to its id, runs beside the
// acquire. A record taken over keeps the intent of the attempt before,
// and fn is given that one: fn must use the intent it is given, and
// whatever was started under another is not for it. A duplicate never
// runs fn. "" is Do.
func (g *Guard) DoWithIntent(ctx context.Context, scope, key string, p Payload, intent string, fn func(ctx context.Context, intent string) Response) (resp Response, replayed bool, err error) {
	if intent != "" {
		if _, err := uuid.Parse(intent); err != nil {
			return Response{}, false, fmt.Errorf("idempotency: intent %q: %w", intent, err)
		}
	}
	if g.Secret == nil {
		return Response{}, false, errors.New("idempotency: the guard has no secret")
	}
	secret, err := g.Secret(ctx)
	if err != nil {
		return Response{}, false, err
	}
	if len(secret) < minSecret {
		return Response{}, false, fmt.Errorf("idempotency: the secret has %d bytes; want at least %d", len(secret), minSecret)
	}
	fingerprint, err := Fingerprint(secret, p)
	if err != nil {
		return Response{}, false, err
	}
	k := Key(secret, scope, key)
	maxWait := orDefault(g.MaxWait, 5*time.Second)
	waitUntil := g.now().Add(maxWait)
	if d, ok := ctx.Deadline(); ok && d.Before(waitUntil) {
		waitUntil = d
	}
	for {
		now := g.now()
		fresh := intent
		if fresh == "" {
			u, err := uuid.NewV7()
			if err != nil {
				return Response{}, false, fmt.Errorf("idempotency: intent: %w", err)
			}
			fresh = u.String()
		}
		rec := Record{
			Key: k, Fingerprint: fingerprint, Status: InProgress, LockToken: rand.Text(),
			LockExpiresAt: g.lockExpiry(ctx, now), ExpiresAt: now.Add(orDefault(g.TTL, 24*time.Hour)),
			Intent: fresh,
		}
		existing, err := g.Store.Acquire(ctx, rec, now)
		if err != nil {
			g.unlock(ctx, rec)
			return Response{}, false, err
		}
		if existing == nil {
			return g.run(ctx, rec, fn, true), false, nil
		}
		// Waits for the holder to finish; returns with existing completed
		// or abandoned, or nil when the key came free.
		existing, err = g.await(ctx, existing, fingerprint, waitUntil)
		if err != nil {
			return Response{}, false, err
		}
		if existing == nil {
			continue
		}
		if existing.Status == Completed {
			return *existing.Response, true, nil
		}
		// An attempt that failed, crashed or timed out may have done its
		// work: this one goes on under its intent.
		now = g.now()
		rec.Intent, rec.LockExpiresAt = existing.Intent, g.lockExpiry(ctx, now)
		// The record outlives the new lock: ending under it, it would free
		// the key for a fresh attempt under a new intent while this one
		// runs under the old.
		rec.ExpiresAt = existing.ExpiresAt
		if end := rec.LockExpiresAt.Add(time.Second); rec.ExpiresAt.Before(end) {
			rec.ExpiresAt = end
		}
		if rec.Intent == "" {
			rec.Intent = fresh
		}
		taken, err := g.Store.TakeOver(ctx, rec, existing.LockToken, now)
		if err != nil {
			g.unlock(ctx, rec)
			return Response{}, false, err
		}
		if taken {
			return g.run(ctx, rec, fn, false), false, nil
		}
		// Another retry took it first: wait for that one.
	}
}

// lockExpiry is the request's deadline plus the margin, so the lock outlives
// the request but not by much.
func (g *Guard) lockExpiry(ctx context.Context, now time.Time) time.Time {
	d, ok := ctx.Deadline()
	if !ok {
		d = now.Add(30 * time.Second)
	}
	return d.Add(orDefault(g.LockMargin, 2*time.Second))
}

// await waits while rec's holder runs. It returns the record completed
// (to replay) or abandoned (its lock expired: to take over), or nil when
// the key is free (gone or expired).
func (g *Guard) await(ctx context.Context, rec *Record, fingerprint string, until time.Time) (*Record, error) {
	pause := 25 * time.Millisecond
	for {
		if rec == nil || rec.Expired(g.now()) {
			return nil, nil
		}
		if rec.Fingerprint != fingerprint {
			return nil, ErrKeyReused
		}
		if !rec.Live(g.now()) || rec.Status == Completed {
			return rec, nil
		}
		if !g.now().Add(pause).Before(until) {
			return nil, ErrKeyInUse
		}
		select {
		case <-ctx.Done():
			return nil, ErrKeyInUse
		case <-time.After(pause):
		}
		pause = min(pause*2, 400*time.Millisecond)
		var err error
		if rec, err = g.Store.Get(ctx, rec.Key); err != nil {
			return nil, err
		}
	}
}

// run calls fn holding the lock, then stores, releases or abandons; fresh
// is false for a record taken over, which an earlier attempt may have
// acted on, so it is never released (deleted) whatever fn answers.
// Everything ends by ctx's deadline, cleanup included: fn gets the
// deadline less two cleanup steps, and the store calls after it a step
// each, on a context that survives ctx's cancellation (a caller who hung
// up still gets its key cleaned up) but not its deadline.
func (g *Guard) run(ctx context.Context, rec Record, fn func(context.Context, string) Response, fresh bool) Response {
	step := orDefault(g.CleanupStep, 250*time.Millisecond)
	fnCtx := ctx
	if d, ok := ctx.Deadline(); ok {
		var cancel context.CancelFunc
		fnCtx, cancel = context.WithDeadline(ctx, d.Add(-2*step))
		defer cancel()
	}
	resp := fn(fnCtx, rec.Intent)
	keep := g.Keep
	if keep == nil {
		keep = func(r Response) bool { return r.Status/100 == 2 }
	}
	if keep(resp) {
		stored := resp
		if stored.ExpiresAt.IsZero() || rec.ExpiresAt.Before(stored.ExpiresAt) {
			stored.ExpiresAt = rec.ExpiresAt
		}
		cctx, cancel := cleanupContext(ctx, step, step)
		err := g.Store.Complete(cctx, rec.Key, rec.LockToken, stored)
		cancel()
		if err == nil {
			return resp
		}
		if errors.Is(err, ErrNotOwner) {
			// This attempt outlived its lock and a retry took the key over
			// (under the same intent): the retry's answer is the one kept.
			g.logger().WarnContext(ctx, "idempotency: the key was taken over by a retry; this answer is not stored")
			return resp
		}
		// The response was not stored, but its work was done: unlock the
		// key, so a retry goes on under the same intent (and finds that
		// work) rather than wait for the lock to expire.
		g.logger().WarnContext(ctx, "idempotency: storing the response failed; unlocking the key", "error", err.Error())
	}
	// The last call has its own step, so a Complete that used all of its
	// own still leaves time to unlock the key.
	rctx, cancel := cleanupContext(ctx, step, 0)
	defer cancel()
	if fresh && refused(resp) {
		// A refusal changed nothing: the key is free for a corrected request.
		if err := g.Store.Release(rctx, rec.Key, rec.LockToken); err != nil {
			g.logger().WarnContext(ctx, "idempotency: releasing the key failed; it frees when its lock expires",
				"lock_expires_at", rec.LockExpiresAt.UTC().Format(time.RFC3339Nano), "error", err.Error())
		}
		return resp
	}
	if err := g.Store.Abandon(rctx, rec.Key, rec.LockToken); err != nil {
		g.logger().WarnContext(ctx, "idempotency: unlocking the key failed; a retry takes it over when its lock expires",
			"lock_expires_at", rec.LockExpiresAt.UTC().Format(time.RFC3339Nano), "error", err.Error())
	}
	return resp
}

// unlock abandons rec's hold after an Acquire or TakeOver that failed:
// the write may have landed with its answer lost, and without this the
// retry would wait for the lock to expire. Best effort: where the write
// did not land there is nothing of this token's to unlock.
func (g *Guard) unlock(ctx context.Context, rec Record) {
	actx, cancel := cleanupContext(ctx, orDefault(g.CleanupStep, 250*time.Millisecond), 0)
	defer cancel()
	g.Store.Abandon(actx, rec.Key, rec.LockToken)
}

// refused reports whether resp is a refusal (4xx) that changed nothing.
// Any other answer not stored (a 5xx: an outage, a timeout, perhaps after
// a write landed) may have had effects.
func refused(resp Response) bool { return resp.Status >= 400 && resp.Status < 500 }

// cleanupContext is a context for one cleanup call: not cancelled with ctx,
// lasting step from now, and ending at least reserve before ctx's deadline.
func cleanupContext(ctx context.Context, step, reserve time.Duration) (context.Context, context.CancelFunc) {
	end := time.Now().Add(step)
	if d, ok := ctx.Deadline(); ok && d.Add(-reserve).Before(end) {
		end = d.Add(-reserve)
	}
	return context.WithDeadline(context.WithoutCancel(ctx), end)
}

func (g *Guard) logger() *slog.Logger {
	if g.Logger != nil {
		return g.Logger
	}
	return slog.Default()
}
