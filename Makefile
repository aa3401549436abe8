# Tender's everyday commands. `make` alone lists them.

STATICCHECK_VERSION := v0.8.2
GOBIN_DIR := $(shell go env GOPATH)/bin

.DEFAULT_GOAL := help

.PHONY: help
help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  %-10s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: run
run: ## Run Tender on ./tender.db with the in-process Stripe emulator
	go run ./cmd/tender serve

.PHONY: emulator
emulator: ## Run the Stripe emulator alone on 127.0.0.1:12111
	go run ./cmd/tender emulator

.PHONY: test
test: ## Run every test (PostgreSQL too when TEST_DATABASE_URL is set)
	go test ./...

.PHONY: test-race
test-race: ## Run every test with the race detector, as CI does
	go test -race -count=1 ./...

.PHONY: bench
bench: ## Run the benchmarks (record results in docs/BENCHMARKS.md)
	go test -run '^$$' -bench . -benchmem ./...

.PHONY: chaos
chaos: ## Kill harness: 1,000 payments, 20 SIGKILLs of tender serve, on SQLite (docs/RELIABILITY.md)
	go run ./cmd/tender chaos --payments 1000 --kills 20 --seed 42

.PHONY: lint
lint: ## gofmt, go vet and staticcheck
	@test -z "$$(gofmt -l .)" || { echo "gofmt needed:"; gofmt -l .; exit 1; }
	go vet ./...
	@test -x $(GOBIN_DIR)/staticcheck || GOBIN=$(GOBIN_DIR) go install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
	$(GOBIN_DIR)/staticcheck ./...

.PHONY: verify
verify: lint ## Lint, check module checksums, then run every test with the race detector
	go mod verify
	go test -race -count=1 ./...

.PHONY: ci
ci: ## Run CI as it runs on a clean clone (installs PostgreSQL/Chromium only with CI=true)
	bash .ci/run
