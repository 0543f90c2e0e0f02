// Command minimal is the yardstick of the cold-start comparison
// (tools/coldstart, make coldstart): the link route's work written by hand
// with aws-lambda-go and aws-sdk-go-v2 alone, each step after the other,
// nothing at package init, nothing ahead of the first request but the SDK's
// configuration:
//
//  1. the SDK configuration (in main, as any Go function does);
//  2. the API tokens secret and the Sumsub secret from Secrets Manager
//     (first request; kept for the next ones);
//  3. the Basic credential checked against the tokens' SHA-256 digests;
//  4. one strongly consistent GetItem of the customer;
//  5. one signed POST to Sumsub for the WebSDK link;
//
// answering the API Gateway event with 201 and {"kycUrl","expiresAt"}, as
// the link function does. It reads the link function's environment
// variables (CUSTOMERS_TABLE, API_TOKENS_SECRET_ID, SUMSUB_SECRET_ID,
// SUMSUB_BASE_URL, SUMSUB_LEVEL_INDIVIDUAL, SUMSUB_LEVEL_BUSINESS). It is no
// product code: it does not validate inputs, limit rates or keep
// idempotency records.
package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

// linkPath is Sumsub's WebSDK link call; linkTTL the link's lifetime.
const (
	linkPath = "/resources/sdkIntegrations/levels/-/websdkLink"
	linkTTL  = 30 * time.Minute
)

type function struct {
	db      *dynamodb.Client
	secrets *secretsmanager.Client
	http    *http.Client
	env     func(string) string

	mu     sync.Mutex
	tokens []token // nil until the first request loads them
	sumsub credentials
}

type token struct {
	ID           string `json:"id"`
	PlatformID   string `json:"platformId"`
	SecretSHA256 string `json:"secretSha256"`
}

type credentials struct {
	AppToken  string `json:"appToken"`
	SecretKey string `json:"secretKey"`
}

func main() {
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		fmt.Fprintln(os.Stderr, "minimal: SDK configuration:", err)
		os.Exit(1)
	}
	f := &function{db: dynamodb.NewFromConfig(cfg), secrets: secretsmanager.NewFromConfig(cfg),
		http: &http.Client{Timeout: 10 * time.Second}, env: os.Getenv}
	lambda.Start(f.handle)
}

func (f *function) handle(ctx context.Context, ev events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
	tokens, creds, err := f.loadSecrets(ctx)
	if err != nil {
		return answer(http.StatusServiceUnavailable, map[string]string{"code": "UNAVAILABLE", "message": err.Error()}), nil
	}
	platform, ok := authenticate(tokens, header(ev, "Authorization"))
	if !ok {
		return answer(http.StatusUnauthorized, map[string]string{"code": "UNAUTHORIZED"}), nil
	}
	id := ev.PathParameters["customerId"]
	out, err := f.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(f.env("CUSTOMERS_TABLE")),
		Key: map[string]types.AttributeValue{"id": &types.AttributeValueMemberS{Value: id}}, ConsistentRead: aws.Bool(true)})
	if err != nil {
		return answer(http.StatusServiceUnavailable, map[string]string{"code": "UNAVAILABLE", "message": err.Error()}), nil
	}
	if str(out.Item, "platformId") != platform {
		return answer(http.StatusNotFound, map[string]string{"code": "CUSTOMER_NOT_FOUND"}), nil
	}
	level := f.env("SUMSUB_LEVEL_INDIVIDUAL")
	if str(out.Item, "customerType") == "BUSINESS" {
		level = f.env("SUMSUB_LEVEL_BUSINESS")
	}
	var in struct {
		RedirectURI string `json:"redirectUri"`
	}
	json.Unmarshal([]byte(ev.Body), &in)
	body, _ := json.Marshal(map[string]any{"levelName": level, "userId": id, "ttlInSecs": int(linkTTL.Seconds()),
		"redirect": map[string]string{"successUrl": in.RedirectURI, "rejectUrl": in.RedirectURI}})
	var link struct {
		URL string `json:"url"`
	}
	if err := f.post(ctx, creds, linkPath, body, &link); err != nil {
		return answer(http.StatusBadGateway, map[string]string{"code": "PROVIDER_ERROR", "message": err.Error()}), nil
	}
	return answer(http.StatusCreated, map[string]string{"kycUrl": link.URL,
		"expiresAt": time.Now().Add(linkTTL).UTC().Format(time.RFC3339)}), nil
}

// loadSecrets reads both secrets on the first request, one after the other.
func (f *function) loadSecrets(ctx context.Context) ([]token, credentials, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.tokens != nil {
		return f.tokens, f.sumsub, nil
	}
	var tokens struct {
		Tokens []token `json:"tokens"`
	}
	if err := f.secret(ctx, f.env("API_TOKENS_SECRET_ID"), &tokens); err != nil {
		return nil, credentials{}, err
	}
	var creds credentials
	if err := f.secret(ctx, f.env("SUMSUB_SECRET_ID"), &creds); err != nil {
		return nil, credentials{}, err
	}
	f.tokens, f.sumsub = append([]token{}, tokens.Tokens...), creds
	return f.tokens, f.sumsub, nil
}

func (f *function) secret(ctx context.Context, id string, v any) error {
	out, err := f.secrets.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(id)})
	if err != nil {
		return err
	}
	return json.Unmarshal([]byte(aws.ToString(out.SecretString)), v)
}

// authenticate checks "Basic id:secret" against the tokens' digests and
// returns the token's platform.
func authenticate(tokens []token, h string) (string, bool) {
	raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(h, "Basic "))
	id, secret, found := strings.Cut(string(raw), ":")
	if err != nil || !found {
		return "", false
	}
	sum := sha256.Sum256([]byte(secret))
	for _, t := range tokens {
		if t.ID == id && subtle.ConstantTimeCompare([]byte(hex.EncodeToString(sum[:])), []byte(t.SecretSHA256)) == 1 {
			return t.PlatformID, true
		}
	}
	return "", false
}

// post sends a request signed as Sumsub wants it: X-App-Access-Sig is the
// hex HMAC-SHA256, keyed with the secret key, of ts + method + path + body.
func (f *function) post(ctx context.Context, c credentials, path string, body []byte, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(f.env("SUMSUB_BASE_URL"), "/")+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	m := hmac.New(sha256.New, []byte(c.SecretKey))
	m.Write([]byte(ts + http.MethodPost + path))
	m.Write(body)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-App-Token", c.AppToken)
	req.Header.Set("X-App-Access-Ts", ts)
	req.Header.Set("X-App-Access-Sig", hex.EncodeToString(m.Sum(nil)))
	resp, err := f.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return errors.New("sumsub: " + resp.Status + ": " + string(raw))
	}
	return json.Unmarshal(raw, out)
}

func header(ev events.APIGatewayProxyRequest, name string) string {
	for k, v := range ev.Headers {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}

func str(item map[string]types.AttributeValue, k string) string {
	if v, ok := item[k].(*types.AttributeValueMemberS); ok {
		return v.Value
	}
	return ""
}

func answer(status int, v any) events.APIGatewayProxyResponse {
	b, _ := json.Marshal(v)
	return events.APIGatewayProxyResponse{StatusCode: status, Body: string(b),
		Headers: map[string]string{"Content-Type": "application/json", "Cache-Control": "no-store"}}
}
