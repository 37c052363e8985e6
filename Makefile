# posimport — run `make help` for the targets.
.DEFAULT_GOAL := help
SHELL := /bin/bash

BIN     := $(CURDIR)/bin
export PATH := $(BIN):$(PATH)
MODULES  = $(shell go list -m -f '{{.Dir}}')

# Pinned tool versions; `make tools` installs them into ./bin.
BUF_VERSION                ?= v1.75.0
PROTOC_GEN_GO_VERSION      ?= v1.36.12
PROTOC_GEN_GO_GRPC_VERSION ?= v1.6.2
GRPC_GATEWAY_VERSION       ?= v2.33.0
SQLC_VERSION               ?= v1.31.1
# promtool (deploy-check's alert rule tests): Prometheus's Go module, the version deploy/go.mod uses.
PROMTOOL_VERSION           ?= v0.316.0
PROMTOOL                   ?= $(BIN)/promtool
GOLANGCI_LINT_VERSION      ?= v2.15.0
GOLANGCI_LINT              ?= $(BIN)/golangci-lint
# Node tools (Redocly CLI) are pinned by .tools/node/package-lock.json and installed there.
NODE_TOOLS := $(CURDIR)/.tools/node
REDOCLY    := $(NODE_TOOLS)/node_modules/.bin/redocly
# The binaries shipped: none may link package testing.
PRODUCT_BINARIES = services/config services/auth services/balance services/import-worker services/posimport

TEST_FLAGS ?= -shuffle=on -count=1 -timeout=25m

# What posimport --version says: RELEASE (e.g. make build RELEASE=v1.4.0) and the checkout's
# revision (go build records none in a go.work workspace).
RELEASE  ?=
REVISION ?= $(shell git describe --always --dirty --abbrev=12 2>/dev/null)
LDFLAGS  := -X github.com/posimport/posimport/services/posimport/internal/cli.release=$(RELEASE) \
	-X github.com/posimport/posimport/services/posimport/internal/cli.revision=$(REVISION)

.PHONY: help
help: ## Show this help
	@grep -hE '^[a-zA-Z/_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-16s\033[0m %s\n", $$1, $$2}'

.PHONY: demo
demo: ## Build posimport and run the demo: up --simulate, a client, an 8-week import, the balance checked against the simulator's oracle
	@mkdir -p $(BIN)
	cd services/posimport && go build -ldflags '$(LDFLAGS)' -o $(BIN)/posimport .
	$(BIN)/posimport demo

.PHONY: tools
tools: ## Install the pinned code generators, promtool and golangci-lint into ./bin and the Node tools (Redocly CLI) into .tools/node
	@mkdir -p $(BIN)
	GOBIN=$(BIN) go install github.com/bufbuild/buf/cmd/buf@$(BUF_VERSION)
	GOBIN=$(BIN) go install google.golang.org/protobuf/cmd/protoc-gen-go@$(PROTOC_GEN_GO_VERSION)
	GOBIN=$(BIN) go install google.golang.org/grpc/cmd/protoc-gen-go-grpc@$(PROTOC_GEN_GO_GRPC_VERSION)
	GOBIN=$(BIN) go install github.com/grpc-ecosystem/grpc-gateway/v2/protoc-gen-grpc-gateway@$(GRPC_GATEWAY_VERSION) \
		github.com/grpc-ecosystem/grpc-gateway/v2/protoc-gen-openapiv2@$(GRPC_GATEWAY_VERSION)
	GOBIN=$(BIN) go install github.com/sqlc-dev/sqlc/cmd/sqlc@$(SQLC_VERSION)
	GOBIN=$(BIN) go install github.com/prometheus/prometheus/cmd/promtool@$(PROMTOOL_VERSION)
	@# golangci-lint is built outside the workspace (GOWORK=off) from its own go.mod, as its
	@# maintainers pin it, not against this repository's dependency versions.
	GOWORK=off GOBIN=$(BIN) go install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION)
	npm ci --prefix $(NODE_TOOLS) --no-audit --no-fund --ignore-scripts

.PHONY: generate
generate: proto/gen sqlc/gen ## Regenerate all generated code (proto and sqlc)

.PHONY: proto/gen
proto/gen: ## Format, lint and generate Go, gRPC, gateway and OpenAPI code from proto/
	buf format -w
	buf lint
	buf generate

.PHONY: proto/lint
proto/lint: ## Lint the protos (buf STANDARD)
	buf lint

.PHONY: proto/breaking
proto/breaking: ## Check the protos against main for breaking changes
	buf breaking --against '.git#branch=main'

.PHONY: sqlc/gen
sqlc/gen: ## Generate the services' query code with sqlc
	@for f in $$(find services -name sqlc.yaml -not -path '*/node_modules/*'); do \
		echo "sqlc generate -f $$f"; sqlc generate -f $$f || exit 1; done

.PHONY: verify
verify: generate ## Fail if generated code is stale or not committed
	@test -z "$$(git status --porcelain -- proto services pkg)" || { \
		echo "generated code differs from what is committed:"; git status --porcelain -- proto services pkg; \
		git --no-pager diff --stat -- proto services pkg; exit 1; }

.PHONY: lint
lint: lint/sqlc lint/go ## gofmt, go vet, golangci-lint, buf lint, the sealed-store check, no package testing in the binaries, and Redocly over the served OpenAPI document
	@test -n "$(MODULES)" || { echo "no modules found (go.work broken?)"; exit 1; }
	@out=$$(gofmt -l $(MODULES) deploy); test -z "$$out" || { echo "gofmt needed:"; echo "$$out"; exit 1; }
	@for d in $(MODULES); do (cd $$d && if [ -n "$$(go list ./... 2>/dev/null)" ]; then go vet ./...; fi) || exit 1; done
	cd deploy && GOWORK=off go vet ./...
	buf lint
	@for d in $(PRODUCT_BINARIES); do \
		if (cd $$d && go list -deps .) | grep -qx testing; then echo "$$d links package testing (go list -deps)"; exit 1; fi; done
	@test -x $(REDOCLY) || { echo "no $(REDOCLY): run make tools"; exit 1; }
	@doc=$$(mktemp --suffix .json) && trap 'rm -f $$doc' EXIT && \
		(cd services/posimport && go run . openapi) > $$doc && \
		echo "redocly lint (posimport openapi)" && $(REDOCLY) lint --config .tools/redocly.yaml --format stylish $$doc

# golangci-lint (configured by .golangci.yml) over each module of go.work in turn: it does not
# span a go.work workspace by itself. --allow-serial-runners: a second run on the machine waits
# for the first instead of failing.
.PHONY: lint/go
lint/go: ## Run golangci-lint (the pinned version, .golangci.yml) over every module of go.work
	@test -n "$(MODULES)" || { echo "no modules found (go.work broken?)"; exit 1; }
	@v=$$($(GOLANGCI_LINT) version --short 2>/dev/null); test "v$$v" = "$(GOLANGCI_LINT_VERSION)" || { \
		echo "$(GOLANGCI_LINT) is '$$v', want $(GOLANGCI_LINT_VERSION): run make tools"; exit 1; }
	@for d in $(MODULES); do (cd $$d && if [ -n "$$(go list ./... 2>/dev/null)" ]; then \
		echo "golangci-lint $${d#$(CURDIR)/}"; $(GOLANGCI_LINT) run --allow-serial-runners --config $(CURDIR)/.golangci.yml ./...; fi) || exit 1; done

# A service's sqlc package (<service>/internal/store/dbsqlc, or .../store/internal/dbsqlc once
# sealed) may be imported only by its store package (and the store's own tests and
# subpackages). SQLC_SEAL_EXCEPTIONS lists "importer sqlc-package" pairs known to reach past a
# store not yet sealed; remove a pair when its store is sealed. An exception that no longer
# occurs is reported too, so the list cannot go stale.
SQLC_SEAL_EXCEPTIONS =

.PHONY: lint/sqlc
lint/sqlc: ## Check with go list -deps that nothing outside a service's store package imports its sqlc package
	@test -n "$(MODULES)" || { echo "no modules found (go.work broken?)"; exit 1; }
	@set -o pipefail; found=$$(for d in $(MODULES); do (cd $$d && go list -deps -test -f '{{.ImportPath}} {{join .Imports " "}}' ./...) || exit 1; done \
		| awk '{ imp = $$1; for (i = 2; i <= NF; i++) if ($$i ~ /\/services\/[^\/]+\/internal\/store\/(internal\/)?dbsqlc$$/) { \
			root = $$i; sub(/\/(internal\/)?dbsqlc$$/, "", root); \
			if (imp != root && imp != root "_test" && index(imp, root "/") != 1) print imp ":" $$i } }' | sort -u) || exit 1; \
	known=" $(strip $(SQLC_SEAL_EXCEPTIONS)) "; bad=0; \
	for f in $$found; do case "$$known" in *" $$f "*) echo "known exception (store not sealed yet): $${f/:/ imports }";; \
		*) echo "sqlc package imported outside its store: $${f/:/ imports }"; bad=1;; esac; done; \
	for k in $(SQLC_SEAL_EXCEPTIONS); do case " $$(echo $$found) " in *" $$k "*) ;; \
		*) echo "stale exception in SQLC_SEAL_EXCEPTIONS (no longer imported; remove it): $$k"; bad=1;; esac; done; \
	exit $$bad

.PHONY: build
build: ## Build every binary into ./bin
	@mkdir -p $(BIN)
	@for s in config auth balance import-worker posimport; do \
		if [ -f services/$$s/main.go ]; then (cd services/$$s && go build -ldflags '$(LDFLAGS)' -o $(BIN)/$$s .) || exit 1; fi; done

.PHONY: test
test: ## Run every module's tests against real PostgreSQL and NATS (DATABASE_URL/NATS_URL, or throwaway ones)
	@for d in $(MODULES); do echo "== $$d"; (cd $$d && if [ -n "$$(go list ./... 2>/dev/null)" ]; then go test $(TEST_FLAGS) ./...; fi) || exit 1; done

# The packages whose tests exercise real concurrency, run under the race detector in CI
# (test/race runs every package, which takes longer than CI can spend): module directory, then
# its packages and an optional -run filter.
RACE_CORE = \
	"pkg ./platform/authn/... ./platform/server/..." \
	"services/import-worker ./internal/worker/... ./internal/ratebudget/... ./internal/jobqueue/..." \
	"services/auth ./authservice/ -run Refresh|Storm|Coalesce" \
	"services/balance ./balanceservice/ -run Race"

.PHONY: test/race-core
test/race-core: ## Run the tests of the concurrent packages (worker, ratebudget, jobqueue, authn cache, token refresh, server, approvals) with the race detector
	@for t in $(RACE_CORE); do set -- $$t; dir=$$1; shift; echo "== $$dir $$*"; \
		(cd $$dir && go test -race $(TEST_FLAGS) "$$@") || exit 1; done

.PHONY: test/race
test/race: ## Run the tests with the race detector
	@for d in $(MODULES); do echo "== $$d"; (cd $$d && if [ -n "$$(go list ./... 2>/dev/null)" ]; then go test -race $(TEST_FLAGS) ./...; fi) || exit 1; done

FUZZTIME ?= 60s
# Every fuzz target, as package directory:FuzzName. `make fuzz` runs each for FUZZTIME.
FUZZ_TARGETS = \
	pkg/lightspeed/retail:FuzzDecodeSales \
	pkg/lightspeed/retail:FuzzParseNext \
	pkg/retry:FuzzParseRetryAfter \
	pkg/lightspeed/restaurant:FuzzDecodeSalesPage \
	pkg/aggregate:FuzzBucketing \
	services/import-worker/internal/plan:FuzzPlan \
	services/config/configservice:FuzzREST

.PHONY: fuzz
fuzz: ## Run every fuzz target for FUZZTIME (default 60s) each; a finding fails and is written to the package's testdata/fuzz
	@for t in $(FUZZ_TARGETS); do dir=$${t%%:*}; name=$${t##*:}; \
		echo "== $$dir $$name ($(FUZZTIME))"; \
		(cd $$dir && go test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) .) || exit 1; done

.PHONY: deploy-check
deploy-check: ## Render every kustomize overlay and check it against the repository (deploy/), and unit-test the alert rules with promtool
	cd deploy && PROMTOOL=$(PROMTOOL) GOWORK=off go test $(TEST_FLAGS) ./...

.PHONY: tidy
tidy: ## go mod tidy in every module
	@for d in $(MODULES); do (cd $$d && go mod tidy) || exit 1; done
