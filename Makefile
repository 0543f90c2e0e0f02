# kyc-link: build, run and test. `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

GO        ?= go
BIN       := bin
PORT      ?= 3000
EVENT     ?= events/v1-success.json
FUNCTION  ?= kyc-link
FUZZTIME  ?= 30s
# make test fuzzes by execution count, not time: Go 1.26's fuzz coordinator
# can fail a time-bounded run at its deadline with a bare "context deadline
# exceeded" and no crasher (golang/go#75804, fixed in Go 1.27).
FUZZ_BURST ?= 8000x
# How long the fuzzer may spend minimizing each new input (Go's default is
# a minute per input, which a burst with a few finds turns into minutes).
FUZZ_MINIMIZE ?= 5s
# package:target pairs for go test -fuzz
FUZZ_TARGETS := ./pkg/httpapi:FuzzRequest ./pkg/httpapi:FuzzSumsubWebhook ./pkg/auth:FuzzParseBasic ./pkg/app:FuzzLambdaEvent ./pkg/app:FuzzDocumentUpload ./pkg/app:FuzzOwnerInput
RIE_VERSION := v0.0.0-20261030222936-bef5c4ba774d
RIE       := $(BIN)/aws-lambda-rie
# Pinned linter, fetched through the Go module proxy on first use.
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
# Tests that need moto_server, node, python3 (cfn-lint's aws-sam-translator),
# Chromium or the Lambda RIE carry this build tag; make test, CI and every target
# here always set it, so nothing is left out. A plain go test ./... runs the
# rest with Go alone.
TEST_TAGS := integration
# make run and make dev sign Grid webhooks with the key in this file (made on
# first use; delete it, or make clean, for a new key).
SIGNING_KEY_FILE ?= $(BIN)/sandbox-signing-key.pem
# The browser test's Chromium (Debian's package, installed by make test).
CHROMIUM  := /usr/bin/chromium

.PHONY: help run dev check seed-stack invoke test lint build build-KycLinkFunction build-SumsubWebhookFunction build-WebhookRelayFunction build-WebhookDeliveryFunction build-PlatformApiFunction build-VerificationSubmitFunction build-Minimal token webhook-key redrive-webhooks fuzz bench coldstart clean

help: ## list targets
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-22s %s\n", $$1, $$2}'

run: ## run locally on embedded data (no AWS account, no Docker) on 127.0.0.1:$(PORT)
	$(GO) build -o $(BIN)/kyc-link ./functions/kyc-link
	PORT=$(PORT) KYC_SIGNING_KEY_FILE=$(SIGNING_KEY_FILE) DOCUMENTS_DIR=$(BIN)/documents ./$(BIN)/kyc-link

dev: ## run everything locally on moto (DynamoDB, Streams, SQS, Secrets Manager from template.yaml), no AWS account, no Docker
	@command -v moto_server >/dev/null || { echo "moto_server not found: it ships with this machine image; elsewhere run: pip install 'moto[server]>=5'"; exit 1; }
	PORT=$(PORT) KYC_SIGNING_KEY_FILE=$(SIGNING_KEY_FILE) $(GO) run ./cmd/dev

seed-stack: ## a new API token for a platform of a deployed stack, then through the API a first customer and the webhook endpoint: STACK=<name> [PLATFORM=id] [WEBHOOK_URL=https://…] [API_URL=https://…]
	@test -n "$(STACK)" || { echo "usage: make seed-stack STACK=<stack name> [PLATFORM=<platform id>] [WEBHOOK_URL=https://…] [API_URL=<base URL, default the stack's ApiUrl>]"; exit 2; }
	@$(GO) run ./cmd/seedstack -stack $(STACK) $(if $(PLATFORM),-platform $(PLATFORM)) $(if $(WEBHOOK_URL),-webhook-url $(WEBHOOK_URL)) $(if $(API_URL),-api-url $(API_URL))

check: ## verify a deployment (secrets, tables and their keys/TTL/stream, queue, Sumsub credentials) from the functions' environment variables
	@$(GO) run ./functions/kyc-link -check

$(RIE):
	GOBIN=$(abspath $(BIN)) $(GO) install github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@$(RIE_VERSION)

invoke: $(RIE) ## run a function under the Lambda Runtime Interface Emulator: EVENT=events/<file>.json [FUNCTION=sumsub-webhook EVENT=events/sumsub-webhook/v1-approved.json]
	CGO_ENABLED=0 $(GO) build -tags lambda.norpc -trimpath -o $(BIN)/bootstrap ./functions/$(FUNCTION)
	scripts/invoke.sh $(RIE) $(BIN)/bootstrap $(EVENT)

$(CHROMIUM):
	@echo "installing Debian's chromium for the browser test (once)"; mkdir -p $(BIN); \
	{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium; } >$(BIN)/chromium-install.log 2>&1 \
	  || { cat $(BIN)/chromium-install.log; echo "could not install chromium (as root: apt-get install chromium)"; exit 1; }

test: lint $(RIE) $(CHROMIUM) ## the whole suite: gofmt, vet, staticcheck, tidy, cfn-lint, then every test with the race detector (moto, RIE, end-to-end), fuzz seeds and a short fuzz burst
	@command -v moto_server >/dev/null || { echo "moto_server not found: it ships with this machine image; elsewhere run: pip install 'moto[server]>=5'"; exit 1; }
	KYC_RIE=$(abspath $(RIE)) $(GO) test -tags $(TEST_TAGS) -race -count=1 ./...
	$(MAKE) --no-print-directory fuzz FUZZTIME=$(FUZZ_BURST)

fuzz: ## run each fuzz target for FUZZTIME (30s, or a count like 500000x); findings land in testdata/fuzz
	@set -e; for t in $(FUZZ_TARGETS); do \
	  pkg=$${t%%:*}; name=$${t##*:}; \
	  echo "fuzz $$name ($$pkg) for $(FUZZTIME)"; \
	  $(GO) test -tags $(TEST_TAGS) -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZ_MINIMIZE) $$pkg 2>&1 | grep -E '^(fuzz: elapsed.*execs|ok|FAIL|---|\s)' | tail -3; \
	  test $${PIPESTATUS[0]} -eq 0; \
	done

lint: ## gofmt, go vet, staticcheck, go.mod tidiness, cfn-lint
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); if [ -n "$$out" ]; then echo "gofmt needed: $$out"; exit 1; fi
	$(GO) vet -tags $(TEST_TAGS) ./...
	$(GO) run $(STATICCHECK) -tags $(TEST_TAGS) ./...
	@$(GO) mod tidy -diff || { echo "go.mod/go.sum are not tidy: run go mod tidy"; exit 1; }
	@command -v cfn-lint >/dev/null || { echo "cfn-lint not found: it ships with this machine image; elsewhere run: pip install cfn-lint"; exit 1; }
	cfn-lint template.yaml

# sam build calls these (BuildMethod: makefile) with ARTIFACTS_DIR set.
# Each function's build tag leaves out the AWS clients only other
# functions use (pkg/app/clients.go); OpenTelemetry is linked in only with
# TRACING=1 (TRACING=1 sam build, for the OtelExporterEndpoint parameter:
# docs/tracing.md). pkg/app's TestLambdaBuilds reads these lines.
LAMBDA_BUILD = CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $(GO) build -trimpath -ldflags='-s -w' -o $(ARTIFACTS_DIR)/bootstrap
LAMBDA_TAGS = lambda.norpc,$(if $(TRACING),,notrace,)
build-KycLinkFunction:
	$(LAMBDA_BUILD) -tags $(LAMBDA_TAGS)lambda_link ./functions/kyc-link
build-SumsubWebhookFunction:
	$(LAMBDA_BUILD) -tags $(LAMBDA_TAGS)lambda_receiver ./functions/sumsub-webhook
build-WebhookRelayFunction:
	$(LAMBDA_BUILD) -tags $(LAMBDA_TAGS)lambda_relay ./functions/webhook-relay
build-WebhookDeliveryFunction:
	$(LAMBDA_BUILD) -tags $(LAMBDA_TAGS)lambda_delivery ./functions/webhook-delivery
build-PlatformApiFunction:
	$(LAMBDA_BUILD) -tags $(LAMBDA_TAGS)lambda_platform ./functions/platform-api
build-VerificationSubmitFunction:
	$(LAMBDA_BUILD) -tags $(LAMBDA_TAGS)lambda_submit ./functions/verification-submit
# Not deployed: make coldstart's yardstick (tools/coldstart/minimal), for its size.
build-Minimal:
	$(LAMBDA_BUILD) -tags lambda.norpc ./tools/coldstart/minimal

build: ## the deployable arm64 bootstraps in bin/arm64/<function>/
	$(MAKE) build-KycLinkFunction ARTIFACTS_DIR=$(BIN)/arm64/kyc-link
	$(MAKE) build-PlatformApiFunction ARTIFACTS_DIR=$(BIN)/arm64/platform-api
	$(MAKE) build-SumsubWebhookFunction ARTIFACTS_DIR=$(BIN)/arm64/sumsub-webhook
	$(MAKE) build-WebhookRelayFunction ARTIFACTS_DIR=$(BIN)/arm64/webhook-relay
	$(MAKE) build-WebhookDeliveryFunction ARTIFACTS_DIR=$(BIN)/arm64/webhook-delivery
	$(MAKE) build-VerificationSubmitFunction ARTIFACTS_DIR=$(BIN)/arm64/verification-submit

token: ## make an API token: prints the secret once and the JSON entry for the tokens secret
	@$(GO) run ./cmd/newtoken $(if $(PLATFORM),-platform $(PLATFORM))

webhook-key: ## make the Grid webhook signing key: prints the secret to store and the public key platforms pin
	@$(GO) run ./cmd/webhookkey

redrive-webhooks: ## list dead-lettered webhooks (WEBHOOK_DEAD_LETTER_TABLE); REDRIVE=1 queues them again (WEBHOOK_QUEUE_URL)
	@$(GO) run ./cmd/webhookredrive $(if $(REDRIVE),-redrive)

bench: ## benchmarks: round trips per request (delay proxy), DynamoDB calls, handler CPU and allocations, then make coldstart (docs/performance.md)
	$(GO) test -tags $(TEST_TAGS) -run '^$$' -bench . -benchmem ./pkg/...
	@$(MAKE) --no-print-directory coldstart

# make coldstart: tools/coldstart (docs/performance.md, "Cold start and
# CPU"). The bootstraps under the RIE are built for this machine (GOOS=linux,
# its arch) as build-KycLinkFunction builds them (its tags); the sizes are
# make build's arm64 ones.
# COLDSTART_BASE=<git revision> measures that revision's link function too,
# in the same alternating runs (COLDSTART_BASE_ENV: its environment
# besides the template's, e.g. GOMAXPROCS= to unset it as before it was
# set); COLDSTART_FLAGS passes more (go run ./tools/coldstart -h).
COLDSTART_RUNS  ?= 11
COLDSTART_FLAGS ?=
COLDSTART_BASE  ?=
COLDSTART_BASE_ENV ?=
HOST_BUILD = CGO_ENABLED=0 GOOS=linux $(GO) build -trimpath -ldflags='-s -w'
coldstart: $(RIE) build ## cold start of the link function vs a minimal hand-written one (medians of alternating RIE runs on moto), CPU per warm request per GOMAXPROCS, bootstrap sizes
	@command -v moto_server >/dev/null || { echo "moto_server not found: it ships with this machine image; elsewhere run: pip install 'moto[server]>=5'"; exit 1; }
	$(HOST_BUILD) -tags $(LAMBDA_TAGS)lambda_link -o $(BIN)/coldstart/kyc-link/bootstrap ./functions/kyc-link
	$(HOST_BUILD) -tags lambda.norpc -o $(BIN)/coldstart/minimal/bootstrap ./tools/coldstart/minimal
	$(MAKE) --no-print-directory -s build-Minimal ARTIFACTS_DIR=$(BIN)/coldstart/arm64/minimal
	@if [ -n "$(COLDSTART_BASE)" ]; then \
	  src=$$(mktemp -d) && trap 'rm -rf "$$src"' EXIT && git archive "$(COLDSTART_BASE)" | tar -x -C "$$src" && \
	  echo "building $(COLDSTART_BASE)'s kyc-link" && (cd "$$src" && $(HOST_BUILD) -tags $(LAMBDA_TAGS)lambda_link -o $(abspath $(BIN))/coldstart/base/bootstrap ./functions/kyc-link); \
	fi
	$(GO) run ./tools/coldstart -rie $(RIE) -runs $(COLDSTART_RUNS) \
	  -fn kyc-link=$(BIN)/coldstart/kyc-link/bootstrap -fn minimal=$(BIN)/coldstart/minimal/bootstrap \
	  $(if $(COLDSTART_BASE),-fn "kyc-link@$(COLDSTART_BASE)=$(BIN)/coldstart/base/bootstrap $(COLDSTART_BASE_ENV)") \
	  -sizes $(BIN)/arm64,$(BIN)/coldstart/arm64 $(COLDSTART_FLAGS)

clean: ## remove bin/ (built binaries, the RIE, the sandbox signing key) and .aws-sam
	rm -rf $(BIN) .aws-sam
