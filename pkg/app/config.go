package app

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/grid-kyc/kyc-link/pkg/kyc"
	"github.com/grid-kyc/kyc-link/pkg/telemetry"
)

// Backends and providers.
const (
	BackendMemory   = "memory"
	BackendAWS      = "aws"
	ProviderSandbox = "sandbox"
	ProviderSumsub  = "sumsub"
)

// Config is everything the service reads from its environment. The variable
// names are a fixed contract (docs/configuration.md).
type Config struct {
	InLambda bool
	Port     string

	Backend  string
	Provider string
	SeedFile string // memory backend: "" is the embedded seed

	APITokensSecretID string
	SumsubSecretID    string
	CustomersTable    string
	IdempotencyTable  string

	SumsubBaseURL   string
	LevelIndividual string
	LevelBusiness   string
	LinkTTL         time.Duration
	RequestTimeout  time.Duration

	// The webhook side (docs/webhooks.md).
	PlatformsTable        string
	OutboxTable           string
	DeadLetterTable       string
	WebhookQueueURL       string
	SigningKeySecretID    string
	WebhookRetryBase      time.Duration
	WebhookRetryFor       time.Duration
	WebhookAllowLoopback  bool
	WebhookAttemptTimeout time.Duration
	SigningKeyFile        string // KYC_SIGNING_KEY_FILE: local runs only, "" under Lambda

	// The platform API (docs/platform-api.md): the customers table's
	// index by platform, the KMS key that seals identifiers and tax ids,
	// the secret holding the key that signs list cursors, and the domain
	// of generated UMA addresses.
	CustomersByPlatformIndex string
	CustomerDataKeyID        string
	CursorKeySecretID        string
	// IdempotencyKeySecretID is the secret holding the key of the
	// idempotency records' HMACs (their stored keys and fingerprints).
	IdempotencyKeySecretID string
	UmaDomain              string

	// Contact verification (docs/contact-verification.md): the codes'
	// table and HMAC key, who must verify what, and the email and SMS
	// senders' settings (ContactEmailFrom "": email not configured).
	ContactCodesTable      string
	ContactCodeKeySecretID string
	ContactRules           kyc.ContactRules
	ContactEmailFrom       string
	// ContactEmailIdentity is the SES identity the role may send through
	// (make check compares it with the one verified).
	ContactEmailIdentity         string
	ContactEmailConfigurationSet string
	ContactSMSSenderID           string

	// Documents and verifications: their tables and the indexes the
	// lists read, the bucket of the documents' files, and where a local
	// run on the memory backend keeps the files (DOCUMENTS_DIR; "" keeps
	// them in memory; ignored under Lambda).
	DocumentsTable               string
	DocumentsByPlatformIndex     string
	VerificationsTable           string
	VerificationsByPlatformIndex string
	VerificationsByCustomerIndex string
	DocumentsBucket              string
	DocumentsDir                 string

	// The submission to the provider (docs/verifications.md, "Submission
	// to the provider"; docs/reliability.md): the queue of its jobs, and
	// the first retry of a failed job (doubling, at most 15 minutes).
	SubmissionQueueURL  string
	SubmissionRetryBase time.Duration

	// Rate limits of links (docs/rate-limits.md).
	RateLimitTable    string
	PlatformRateLimit float64
	PlatformRateBurst int
	SumsubRateLimit   float64

	// Tracing (docs/tracing.md): the OTLP/HTTP traces URL from the
	// standard OTEL_EXPORTER_OTLP_* variables, "" for off; ServiceName is
	// the function's name under Lambda.
	TracesEndpoint string
	ServiceName    string

	// PublicURL is where this process is reachable; sandbox links point
	// there. Set by the caller, not read from the environment.
	PublicURL string
}

// ConfigFromEnv reads the configuration. Outside Lambda it defaults to the
// embedded, account-free setup; in Lambda to AWS and Sumsub.
func ConfigFromEnv(getenv func(string) string, inLambda bool) (Config, error) {
	get := func(name, def string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return def
	}
	backend, provider := BackendMemory, ProviderSandbox
	if inLambda {
		backend, provider = BackendAWS, ProviderSumsub
	}
	c := Config{
		InLambda:          inLambda,
		Port:              get("PORT", "3000"),
		Backend:           get("KYC_BACKEND", backend),
		Provider:          get("KYC_PROVIDER", provider),
		SeedFile:          getenv("KYC_SEED_FILE"),
		TracesEndpoint:    telemetry.Endpoint(getenv),
		ServiceName:       get("AWS_LAMBDA_FUNCTION_NAME", "kyc-link"),
		APITokensSecretID: get("API_TOKENS_SECRET_ID", "kyc-link/api-tokens"),
		SumsubSecretID:    get("SUMSUB_SECRET_ID", "kyc-link/sumsub"),
		CustomersTable:    get("CUSTOMERS_TABLE", "customers"),
		IdempotencyTable:  get("IDEMPOTENCY_TABLE", "kyc-link-idempotency"),
		SumsubBaseURL:     get("SUMSUB_BASE_URL", "https://api.sumsub.com"),
		LevelIndividual:   get("SUMSUB_LEVEL_INDIVIDUAL", "basic-kyc-level"),
		LevelBusiness:     get("SUMSUB_LEVEL_BUSINESS", "basic-kyb-level"),

		PlatformsTable:        get("PLATFORMS_TABLE", "platforms"),
		OutboxTable:           get("WEBHOOK_OUTBOX_TABLE", "webhook-outbox"),
		DeadLetterTable:       get("WEBHOOK_DEAD_LETTER_TABLE", "webhook-dead-letters"),
		WebhookQueueURL:       getenv("WEBHOOK_QUEUE_URL"),
		SigningKeySecretID:    get("WEBHOOK_SIGNING_KEY_SECRET_ID", "kyc-link/webhook-signing-key"),
		WebhookAttemptTimeout: 10 * time.Second,
		RateLimitTable:        get("RATE_LIMIT_TABLE", "kyc-link-rate-limits"),

		CustomersByPlatformIndex: get("CUSTOMERS_BY_PLATFORM_INDEX", "byPlatform"),
		CustomerDataKeyID:        get("CUSTOMER_DATA_KEY_ID", "alias/kyc-link-customer-data"),
		CursorKeySecretID:        get("CURSOR_KEY_SECRET_ID", "kyc-link/cursor-key"),
		IdempotencyKeySecretID:   get("IDEMPOTENCY_KEY_SECRET_ID", "kyc-link/idempotency-key"),
		UmaDomain:                get("UMA_DOMAIN", "kyc-link.invalid"),

		ContactCodesTable:            get("CONTACT_CODES_TABLE", "kyc-link-contact-codes"),
		ContactCodeKeySecretID:       get("CONTACT_CODE_KEY_SECRET_ID", "kyc-link/contact-code-key"),
		ContactEmailFrom:             getenv("CONTACT_EMAIL_FROM"),
		ContactEmailIdentity:         getenv("CONTACT_EMAIL_IDENTITY"),
		ContactEmailConfigurationSet: getenv("CONTACT_EMAIL_CONFIGURATION_SET"),
		ContactSMSSenderID:           getenv("CONTACT_SMS_SENDER_ID"),

		DocumentsTable:               get("DOCUMENTS_TABLE", "kyc-link-documents"),
		DocumentsByPlatformIndex:     get("DOCUMENTS_BY_PLATFORM_INDEX", "byPlatform"),
		VerificationsTable:           get("VERIFICATIONS_TABLE", "kyc-link-verifications"),
		VerificationsByPlatformIndex: get("VERIFICATIONS_BY_PLATFORM_INDEX", "byPlatform"),
		VerificationsByCustomerIndex: get("VERIFICATIONS_BY_CUSTOMER_INDEX", "byCustomer"),
		DocumentsBucket:              get("DOCUMENTS_BUCKET", "kyc-link-documents"),

		SubmissionQueueURL: getenv("SUBMISSION_QUEUE_URL"),
	}
	if !inLambda { // the deployed stack's key is only ever Secrets Manager's
		c.SigningKeyFile = getenv("KYC_SIGNING_KEY_FILE")
		// A Lambda function's disk is not where documents live.
		c.DocumentsDir = getenv("DOCUMENTS_DIR")
	}
	var errs []error
	var err error
	if c.ContactRules, err = kyc.ParseContactRules(get("CONTACT_VERIFICATION_REGIONS", strings.Join(kyc.EEARegions(), ",")),
		get("CONTACT_VERIFICATION_CHANNELS", "email,phone")); err != nil {
		errs = append(errs, fmt.Errorf("CONTACT_VERIFICATION_REGIONS, CONTACT_VERIFICATION_CHANNELS: %w", err))
	}
	if c.LinkTTL, err = duration(get("KYC_LINK_TTL", "30m"), "KYC_LINK_TTL"); err != nil {
		errs = append(errs, err)
	}
	if c.RequestTimeout, err = duration(get("KYC_REQUEST_TIMEOUT", "10s"), "KYC_REQUEST_TIMEOUT"); err != nil {
		errs = append(errs, err)
	}
	if c.WebhookRetryBase, err = duration(get("WEBHOOK_RETRY_BASE", "1m"), "WEBHOOK_RETRY_BASE"); err != nil {
		errs = append(errs, err)
	}
	if c.WebhookRetryFor, err = duration(get("WEBHOOK_RETRY_FOR", "168h"), "WEBHOOK_RETRY_FOR"); err != nil {
		errs = append(errs, err)
	}
	if c.SubmissionRetryBase, err = duration(get("SUBMISSION_RETRY_BASE", "30s"), "SUBMISSION_RETRY_BASE"); err != nil {
		errs = append(errs, err)
	}
	if c.PlatformRateLimit, err = positive(get("PLATFORM_RATE_LIMIT", "2"), "PLATFORM_RATE_LIMIT"); err != nil {
		errs = append(errs, err)
	}
	if c.SumsubRateLimit, err = positive(get("SUMSUB_RATE_LIMIT", "8"), "SUMSUB_RATE_LIMIT"); err != nil {
		errs = append(errs, err)
	}
	burst, err := positive(get("PLATFORM_RATE_BURST", "10"), "PLATFORM_RATE_BURST")
	if err != nil || burst != float64(int(burst)) {
		errs = append(errs, fmt.Errorf("PLATFORM_RATE_BURST=%q: want a whole number above 0", get("PLATFORM_RATE_BURST", "10")))
	}
	c.PlatformRateBurst = int(burst)
	switch v := getenv("WEBHOOK_ALLOW_LOOPBACK"); v {
	case "", "false":
		// Local mode on embedded data delivers to its own inbox page.
		c.WebhookAllowLoopback = v == "" && c.Backend == BackendMemory
	case "true":
		c.WebhookAllowLoopback = true
	default:
		errs = append(errs, fmt.Errorf("WEBHOOK_ALLOW_LOOPBACK=%q: want true or false", v))
	}
	if c.Backend != BackendMemory && c.Backend != BackendAWS {
		errs = append(errs, fmt.Errorf("KYC_BACKEND=%q: want %q or %q", c.Backend, BackendMemory, BackendAWS))
	}
	if c.Provider != ProviderSandbox && c.Provider != ProviderSumsub {
		errs = append(errs, fmt.Errorf("KYC_PROVIDER=%q: want %q or %q", c.Provider, ProviderSandbox, ProviderSumsub))
	}
	// Sumsub links live at most a day in our contract; a TTL under a minute
	// is a typo.
	if c.LinkTTL != 0 && (c.LinkTTL < time.Minute || c.LinkTTL > 24*time.Hour) {
		errs = append(errs, fmt.Errorf("KYC_LINK_TTL=%s: want between 1m and 24h", c.LinkTTL))
	}
	return c, errors.Join(errs...)
}

func positive(s, name string) (float64, error) {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f <= 0 {
		return 0, fmt.Errorf("%s=%q: want a number above 0", name, s)
	}
	return f, nil
}

func duration(s, name string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%s=%q: want a positive Go duration such as 30m or 10s", name, s)
	}
	return d, nil
}
