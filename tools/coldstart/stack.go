package main

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"go.yaml.in/yaml/v4"

	"github.com/grid-kyc/kyc-link/internal/motoserver"
	"github.com/grid-kyc/kyc-link/internal/motostack"
	"github.com/grid-kyc/kyc-link/pkg/awsstore"
	"github.com/grid-kyc/kyc-link/pkg/kyc"
	"github.com/grid-kyc/kyc-link/pkg/sumsub"
	"github.com/grid-kyc/kyc-link/pkg/sumsub/sumsubtest"
)

// event is the API Gateway event every run sends, and what it names.
type event struct {
	raw        map[string]any
	customerID string
	tokenID    string
	secret     string
}

// readEvent reads an API Gateway event (events/v1-success.json): its
// customer and its Basic credential are what the stack is seeded with.
func readEvent(path string) (*event, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var raw map[string]any
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	e := &event{raw: raw}
	if p, ok := raw["pathParameters"].(map[string]any); ok {
		e.customerID, _ = p["customerId"].(string)
	}
	var auth string
	if h, ok := raw["headers"].(map[string]any); ok {
		auth, _ = h["Authorization"].(string)
	}
	cred, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(auth, "Basic "))
	id, secret, found := strings.Cut(string(cred), ":")
	if e.customerID == "" || err != nil || !found {
		return nil, fmt.Errorf("%s: want pathParameters.customerId and a Basic Authorization header", path)
	}
	e.tokenID, e.secret = id, secret
	return e, nil
}

// body is the event as sent: with an Idempotency-Key when key is not "".
func (e *event) body(key string) []byte {
	ev := map[string]any{}
	for k, v := range e.raw {
		ev[k] = v
	}
	if key != "" {
		h := map[string]any{}
		if old, ok := e.raw["headers"].(map[string]any); ok {
			for k, v := range old {
				h[k] = v
			}
		}
		h["Idempotency-Key"] = key
		ev["headers"] = h
		delete(ev, "multiValueHeaders")
	}
	b, _ := json.Marshal(ev)
	return b
}

// benchPlatform owns the event's customer and token.
const benchPlatform = "platform-coldstart"

// stack is moto with template.yaml's resources, seeded for the event, and
// the fake Sumsub.
type stack struct {
	moto   *motoserver.Server
	sumsub *sumsubtest.Server
	env    []string // the link function's environment (both functions read it)
}

// newStack starts moto and provisions the link function's resources from
// the template, seeds the event's customer and token, extraPlatforms
// platform items besides the event's (the start-up Scan reads them all),
// and starts the fake Sumsub.
func newStack(ctx context.Context, ev *event, extraPlatforms int) (*stack, error) {
	moto, err := motoserver.New()
	if err != nil {
		return nil, err
	}
	creds := sumsub.Credentials{AppToken: "sbx:coldstart", SecretKey: "coldstart-secret-key"}
	tpl, err := motostack.Template()
	if err != nil {
		moto.Stop()
		return nil, err
	}
	sum := sha256.Sum256([]byte(ev.secret))
	tokens, _ := json.Marshal(map[string]any{"tokens": []map[string]string{
		{"id": ev.tokenID, "platformId": benchPlatform, "secretSha256": hex.EncodeToString(sum[:])}}})
	sumsubSecret, _ := json.Marshal(creds)
	st, err := motostack.Provision(ctx, moto, tpl, motostack.Options{Suffix: "-coldstart",
		Only: []string{"CustomersTable", "IdempotencyTable", "RateLimitTable", "PlatformsTable",
			"ApiTokensSecretArn", "SumsubSecretArn", "IdempotencyKeySecret"},
		Secrets: map[string]string{"ApiTokensSecretArn": string(tokens), "SumsubSecretArn": string(sumsubSecret)}})
	if err != nil {
		moto.Stop()
		return nil, err
	}
	db := moto.DynamoDB()
	now := time.Now()
	if _, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(st.Names["CustomersTable"]),
		Item: awsstore.CustomerItem(kyc.Customer{ID: ev.customerID, PlatformID: benchPlatform, Type: kyc.Individual,
			KYCStatus: kyc.StatusUnverified, CreatedAt: now, UpdatedAt: now})}); err != nil {
		moto.Stop()
		return nil, fmt.Errorf("seed the customer: %w", err)
	}
	for i := range extraPlatforms + 1 {
		id := benchPlatform
		if i > 0 {
			id = fmt.Sprintf("platform-%05d", i)
		}
		if _, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(st.Names["PlatformsTable"]),
			Item: awsstore.PlatformItem(kyc.PlatformConfig{PlatformID: id, WebhookEndpoint: "https://" + id + ".example/hooks",
				CreatedAt: now, UpdatedAt: now})}); err != nil {
			moto.Stop()
			return nil, fmt.Errorf("seed platform %s: %w", id, err)
		}
	}
	fake := sumsubtest.NewServer(creds)
	env := []string{
		"KYC_BACKEND=aws", "KYC_PROVIDER=sumsub", "SUMSUB_BASE_URL=" + fake.URL,
		"SUMSUB_LEVEL_INDIVIDUAL=basic-kyc-level", "SUMSUB_LEVEL_BUSINESS=basic-kyb-level",
		// Far above what the warm runs send: every answer is a link,
		// never a 429.
		"PLATFORM_RATE_LIMIT=1000000", "PLATFORM_RATE_BURST=1000000", "SUMSUB_RATE_LIMIT=1000000",
	}
	env = append(env, st.Function("KycLinkFunction")...)
	return &stack{moto: moto, sumsub: fake, env: env}, nil
}

func (s *stack) stop() {
	s.sumsub.Close()
	s.moto.Stop()
}

// globalEnv is the literal variables of template.yaml's Globals (Function
// Environment Variables): what every deployed function runs with
// (GOMAXPROCS). Values that are references (!Ref) are left out.
func globalEnv(path string) ([]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	vars := child(&doc, "Globals", "Function", "Environment", "Variables")
	if vars == nil {
		return nil, nil
	}
	if vars.Kind != yaml.MappingNode {
		return nil, errors.New(path + ": Globals.Function.Environment.Variables is not a mapping")
	}
	var out []string
	for i := 0; i+1 < len(vars.Content); i += 2 {
		k, v := vars.Content[i], vars.Content[i+1]
		if v.Kind == yaml.ScalarNode && (v.Tag == "!!str" || v.Tag == "!!int") {
			out = append(out, k.Value+"="+v.Value)
		}
	}
	return out, nil
}

// child walks mapping keys from n (a document or a mapping).
func child(n *yaml.Node, path ...string) *yaml.Node {
	if n.Kind == yaml.DocumentNode && len(n.Content) == 1 {
		n = n.Content[0]
	}
	for _, key := range path {
		if n.Kind != yaml.MappingNode {
			return nil
		}
		var next *yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == key {
				next = n.Content[i+1]
			}
		}
		if next == nil {
			return nil
		}
		n = next
	}
	return n
}
