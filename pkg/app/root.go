// Package app is the composition root: it builds the service's components
// from the configuration and hands each function (Entry) exactly what it
// serves. root.go: the root, its secrets and start-up steps;
// stores_aws.go and stores_memory.go: the stores of each backend;
// components.go: the use cases and handlers built from them; entry.go: the
// functions and their one main; serve.go: the local HTTP server.
package app

import (
	"context"
	"crypto/ecdsa"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/grid-kyc/kyc-link/pkg/auth"
	"github.com/grid-kyc/kyc-link/pkg/gridhook"
	"github.com/grid-kyc/kyc-link/pkg/memstore"
	"github.com/grid-kyc/kyc-link/pkg/secrets"
	"github.com/grid-kyc/kyc-link/pkg/sumsub"
	"github.com/grid-kyc/kyc-link/pkg/telemetry"
)

// Secrets are reread in the background this often. A token added in
// Secrets Manager works sooner: an unknown token id starts a reload (at most
// one per secretsEarlyRefresh per process), and the requests after it ends
// see the new token.
const (
	secretsMaxAge       = 5 * time.Minute
	secretsEarlyRefresh = 5 * time.Second
)

// root holds what every component is built from: the configuration, the
// logger, tracing, the secrets and the stores of the backend, each built
// once, in newRoot, without a network call. The components themselves are
// built by Build, once per entry, from these (components.go).
type root struct {
	ctx     context.Context // the process's: ends background deliveries
	cfg     Config
	logger  *slog.Logger
	tracing *telemetry.Tracing
	seed    *Seed // the memory backend's data; nil on aws
	secrets secretSet
	stores  *stores

	mu      sync.Mutex
	primers []primer
	// preload are the secrets the components read, loaded together at
	// start-up (one batch read where the source has one).
	preload []secrets.Preloadable
}

// secretSet is every secret a component may read, each one cache shared
// by all that read it. Building one reads nothing; a component that uses a
// secret says so with root.prime.
type secretSet struct {
	tokens  *secrets.Cached[auth.Tokens]
	sumsub  *secrets.Cached[sumsub.Credentials]
	signing *secrets.Cached[*ecdsa.PrivateKey]
	// cursorKey signs list cursors; idempotencyKey keys the idempotency
	// records' HMACs; contactCodeKey the contact codes'. In AWS shared
	// secrets, locally keys of this process.
	cursorKey, idempotencyKey, contactCodeKey hmacKey
	// source is where the caches read (its batch read fills several at
	// start-up).
	source secrets.Source
}

// hmacKey is a key and its cache, to load ahead of the first request (nil
// where there is nothing to load).
type hmacKey struct {
	get   func(context.Context) ([]byte, error)
	cache secrets.Preloadable
}

// primer is a start-up step (loading a secret, opening a connection).
type primer struct {
	name string
	step func(context.Context) error
}

func newRoot(ctx context.Context, cfg Config, logger *slog.Logger) (*root, error) {
	tr, err := telemetry.New(ctx, cfg.TracesEndpoint, cfg.ServiceName)
	if err != nil {
		return nil, err
	}
	if cfg.TracesEndpoint != "" && !telemetry.Built {
		logger.Warn("an OTLP endpoint is configured, but this build has no tracing: no spans are recorded (build with TRACING=1: docs/tracing.md)",
			"endpoint", cfg.TracesEndpoint)
	}
	r := &root{ctx: ctx, cfg: cfg, logger: logger, tracing: tr}
	if r.memory() {
		if r.seed, err = loadSeed(cfg); err != nil {
			return nil, err
		}
		if r.secrets, err = memorySecrets(cfg, r.seed, logger); err != nil {
			return nil, err
		}
		r.stores, err = newMemoryStores(r)
		return r, err
	}
	st, src, err := newAWSStores(ctx, cfg, logger, tr)
	if err != nil {
		return nil, err
	}
	r.stores, r.secrets = st, awsSecrets(cfg, src, logger)
	return r, nil
}

func (r *root) memory() bool { return r.cfg.Backend == BackendMemory }

// loadSeed is the memory backend's data: the embedded seed, or
// KYC_SEED_FILE.
func loadSeed(cfg Config) (*Seed, error) {
	raw := defaultSeed
	if cfg.SeedFile != "" {
		var err error
		if raw, err = os.ReadFile(cfg.SeedFile); err != nil {
			return nil, fmt.Errorf("KYC_SEED_FILE: %w", err)
		}
	}
	s, err := ParseSeed(raw)
	if err != nil {
		return nil, err
	}
	return &s, nil
}

// cached keeps one secret parsed in memory with the service's refresh
// policy.
func cached[T any](src secrets.Source, id string, parse func(string) (T, error), logger *slog.Logger) *secrets.Cached[T] {
	return &secrets.Cached[T]{Source: src, ID: id, Parse: parse, MaxAge: secretsMaxAge, MinInterval: secretsEarlyRefresh, Logger: logger}
}

// awsSecrets are the secrets in Secrets Manager (src), by the ids the
// configuration names.
func awsSecrets(cfg Config, src secrets.Source, logger *slog.Logger) secretSet {
	hmac := func(id string) hmacKey {
		c := cached(src, id, parseHMACKey, logger)
		return hmacKey{get: c.Get, cache: c}
	}
	return secretSet{
		tokens:         cached(src, cfg.APITokensSecretID, auth.ParseTokens, logger),
		sumsub:         cached(src, cfg.SumsubSecretID, sumsub.ParseCredentials, logger),
		signing:        cached(src, cfg.SigningKeySecretID, gridhook.ParseSigningSecret, logger),
		cursorKey:      hmac(cfg.CursorKeySecretID),
		idempotencyKey: hmac(cfg.IdempotencyKeySecretID),
		contactCodeKey: hmac(cfg.ContactCodeKeySecretID),
		source:         src,
	}
}

// memorySecrets are the seed's tokens and Sumsub credentials, the signing
// key of KYC_SIGNING_KEY_FILE (or one made for this process), and keys of
// this process for cursors and idempotency records.
func memorySecrets(cfg Config, seed *Seed, logger *slog.Logger) (secretSet, error) {
	mem := secrets.Memory{cfg.APITokensSecretID: string(seed.APITokens)}
	if len(seed.Sumsub) > 0 {
		mem[cfg.SumsubSecretID] = string(seed.Sumsub)
	}
	signing, err := LocalSigningSecret(cfg, logger)
	if err != nil {
		return secretSet{}, err
	}
	mem[cfg.SigningKeySecretID] = signing
	return secretSet{
		tokens:         cached(mem, cfg.APITokensSecretID, auth.ParseTokens, logger),
		sumsub:         cached(mem, cfg.SumsubSecretID, sumsub.ParseCredentials, logger),
		signing:        cached(mem, cfg.SigningKeySecretID, gridhook.ParseSigningSecret, logger),
		cursorKey:      hmacKey{get: memstore.RandomKey()},
		idempotencyKey: hmacKey{get: memstore.RandomKey()},
		contactCodeKey: hmacKey{get: memstore.RandomKey()},
		source:         mem,
	}, nil
}

// primeSecret registers a secret to load ahead of the first request,
// with the others (one batch read: runPrimers).
func (r *root) primeSecret(c secrets.Preloadable) {
	if c == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if !slices.ContainsFunc(r.preload, func(p secrets.Preloadable) bool { return p.SecretID() == c.SecretID() }) {
		r.preload = append(r.preload, c)
	}
}

// parseHMACKey reads an HMAC key secret (the cursor key, the idempotency
// key, the contact code key): {"key": "<at least 32 characters>"}, as the template's generated
// secrets hold it.
func parseHMACKey(s string) ([]byte, error) {
	var v struct {
		Key string `json:"key"`
	}
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		return nil, errors.New(`want {"key": "<at least 32 characters>"}`)
	}
	if len(v.Key) < 32 {
		return nil, fmt.Errorf("the key has %d characters; want at least 32", len(v.Key))
	}
	return []byte(v.Key), nil
}

// prime registers a start-up step, once per name, for Prime.
func (r *root) prime(name string, step func(context.Context) error) {
	if step == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if !slices.ContainsFunc(r.primers, func(p primer) bool { return p.name == name }) {
		r.primers = append(r.primers, primer{name, step})
	}
}

// runPrimers does ahead of the first request what it would otherwise wait
// for, all side by side within ctx. In Lambda it runs in the init phase
// (full CPU, off the request path). A step that fails is logged and left to
// the request path, which retries it.
func (r *root) runPrimers(ctx context.Context) {
	r.mu.Lock()
	steps := slices.Clone(r.primers)
	if preload := slices.Clone(r.preload); len(preload) > 0 {
		steps = append(steps, primer{"secrets", func(ctx context.Context) error {
			return secrets.PreloadAll(ctx, r.secrets.source, preload)
		}})
	}
	r.mu.Unlock()
	var wg sync.WaitGroup
	for _, p := range steps {
		wg.Go(func() {
			if err := p.step(ctx); err != nil {
				r.logger.WarnContext(ctx, "start-up step failed; the first request retries it", "step", p.name, "error", err.Error())
			}
		})
	}
	wg.Wait()
}
