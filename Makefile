# baton-trayai. `make demo` runs the embedded default; `make test` runs everything CI runs.
GO        ?= go
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT    ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo none)
DATE      ?= $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
LDFLAGS   := -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT) -X main.date=$(DATE)
LINT      := $(GO) tool -modfile=tools/lint/go.mod golangci-lint
# Fuzzing runs a fixed number of inputs per target: a time budget makes Go's
# fuzzer fail now and then with "context deadline exceeded" on a busy machine.
FUZZRUNS  ?= 5000x

.PHONY: all build generate demo demo-service test short unit race fuzz conformance lint tidy metadata check-metadata check-generated check-tools bench clean

all: build

build: pkg/config/conf.gen.go
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o bin/baton-trayai ./cmd/baton-trayai

## Regenerate the typed config struct from pkg/config/config.go.
generate:
	$(GO) generate ./pkg/config && gofmt -w pkg/config/conf.gen.go

## The embedded default: a simulated Tray.ai organization, a one-shot sync, a readable report.
demo:
	scripts/demo.sh

## The same in service mode: a ConductorOne stand-in hands the binary a sync and a grant.
demo-service:
	scripts/demo.sh service

## Everything CI runs: generated files, go.mod, metadata and tool versions current, lint, every test once (the
## packages with concurrency under the race detector), short fuzzing, CLI and conformance.
test: check-generated tidy check-metadata check-tools lint unit race fuzz conformance
	@echo "make test: all checks passed"

## The inner loop: every test but the soak tests, in seconds.
short:
	$(GO) test -short ./...

## The packages with concurrency (the client's pace and retries, the connector's bounded fan-out, the simulator)
## run their tests in `race`, under the race detector; `unit` runs every other package's, so no test runs twice.
MODULE    := github.com/conductorone/baton-trayai
RACE_PKGS := $(MODULE)/pkg/client $(MODULE)/pkg/connector $(MODULE)/internal/traysim

unit:
	$(GO) test -count=1 $(filter-out $(RACE_PKGS),$(shell $(GO) list ./...))

race:
	$(GO) test -count=1 -race $(RACE_PKGS)

fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeUserPage$$' -fuzztime $(FUZZRUNS) ./pkg/client/
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeWorkspacePage$$' -fuzztime $(FUZZRUNS) ./pkg/client/
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeWorkspaceUserPage$$' -fuzztime $(FUZZRUNS) ./pkg/client/
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeSingleObjects$$' -fuzztime $(FUZZRUNS) ./pkg/client/
	$(GO) test -run '^$$' -fuzz '^FuzzParseSettings$$' -fuzztime $(FUZZRUNS) ./pkg/connector/

conformance:
	scripts/conformance.sh full minimal

lint:
	$(LINT) run --timeout 10m ./...

## go.mod and go.sum say exactly what the code imports.
tidy:
	@$(GO) mod tidy -diff || { echo "go.mod or go.sum is not tidy: run go mod tidy and commit the result"; exit 1; }

## Rewrite baton_capabilities.json and config_schema.json from the binary.
metadata:
	$(GO) run ./cmd/baton-trayai capabilities > baton_capabilities.json
	$(GO) run ./cmd/baton-trayai config > config_schema.json

check-metadata:
	scripts/check-metadata.sh

check-generated:
	@tmp=$$(mktemp -d) && cp pkg/config/conf.gen.go $$tmp/ && $(GO) generate ./pkg/config && gofmt -w pkg/config/conf.gen.go \
	  && if ! cmp -s $$tmp/conf.gen.go pkg/config/conf.gen.go; then cp $$tmp/conf.gen.go pkg/config/conf.gen.go; \
	  echo "pkg/config/conf.gen.go is stale: run make generate and commit it"; exit 1; fi

## The baton CLI (tools/baton) must read what this connector's SDK writes: same baton-sdk version.
check-tools:
	@main=$$($(GO) list -m -f '{{.Version}}' github.com/conductorone/baton-sdk) \
	  && cli=$$($(GO) list -modfile=tools/baton/go.mod -m -f '{{.Version}}' github.com/conductorone/baton-sdk) \
	  && if [ "$$main" != "$$cli" ]; then \
	  echo "tools/baton/go.mod builds the baton CLI from baton-sdk $$cli, the connector uses $$main: run (cd tools/baton && go get github.com/conductorone/baton-sdk@$$main && go mod tidy)"; exit 1; fi

## Full syncs of a large simulated organization, each followed by a targeted refresh of one workspace: both list
## shapes, alone and beside another client spending half of Tray.ai's 30 rps, and the real binary's memory at 5,000
## and 20,000 users (about 40 minutes; see docs/performance.md).
bench: build
	$(GO) run ./tools/bench -shapes full,minimal -binary bin/baton-trayai
	$(GO) run ./tools/bench -shapes minimal -users 1000 -workspaces 20 -binary bin/baton-trayai
	$(GO) run ./tools/bench -shapes minimal -users 1000 -workspaces 20 -competitor-rps 15 -binary bin/baton-trayai
	$(GO) run ./tools/bench -shapes minimal -competitor-rps 15 -binary bin/baton-trayai
	$(GO) run ./tools/bench -shapes full -users 20000 -binary bin/baton-trayai

clean:
	rm -rf bin dist
