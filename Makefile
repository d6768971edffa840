# weft: the front door. CI calls make targets only.
SHELL := /bin/bash
GO    ?= go
PKGS  ?= ./...

.PHONY: help demo dev test test-short vet fmt bench bench-all build fuzz test-all services-up services-down services-status

help: ## list targets
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk -F':.*?## ' '{printf "  %-16s %s\n", $$1, $$2}'

demo: ## run the example workflows on the embedded runtime (no services needed)
	$(GO) run ./cmd/weft demo

dev: ## start the embedded dev server with the examples registered
	$(GO) run ./cmd/weft dev

build: ## build every package and the weft binary
	$(GO) build $(PKGS)
	$(GO) build -o bin/weft ./cmd/weft

vet: ## gofmt check and go vet
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)

test: vet ## quick: every test on the in-memory backends only (race detector on)
	$(GO) test -race -count=1 $(PKGS)

test-all: services-up vet ## every test against real services; what CI runs
	env_out=$$(bash scripts/services.sh env && bash scripts/pulsar.sh env && bash scripts/secured.sh env) && eval "$$env_out" && \
		export TEST_REQUIRE_INTEGRATION=1 && $(GO) test -race -count=1 -timeout 30m $(PKGS)

services-up: ## start PostgreSQL, MariaDB, Redis and a Pulsar standalone broker on loopback, plain and secured
	bash scripts/services.sh up
	bash scripts/pulsar.sh up
	bash scripts/secured.sh up

services-down: ## stop the services started by services-up
	bash scripts/secured.sh down
	bash scripts/pulsar.sh down
	bash scripts/services.sh down

services-status: ## show whether each service answers
	bash scripts/services.sh status
	bash scripts/pulsar.sh status
	bash scripts/secured.sh status

test-short: ## quick tests without the race detector
	$(GO) test -short -count=1 $(PKGS)

FUZZTIME ?= 10s

fuzz: ## fuzz every decoder of outside input for FUZZTIME (10s) each
	@set -e; for pkg in $$($(GO) list $(PKGS)); do \
		dir=$$($(GO) list -f '{{.Dir}}' $$pkg); \
		for target in $$(grep -ho '^func Fuzz[A-Za-z0-9_]*' $$dir/*_test.go 2>/dev/null | sed 's/^func //' | sort -u); do \
			echo "== $$pkg $$target"; \
			$(GO) test -run=NONE -fuzz="^$$target\$$" -fuzztime=$(FUZZTIME) -parallel=1 $$pkg; \
		done; \
	done

bench: ## run the embedded runtime benchmark (prints steps/s and latency percentiles)
	$(GO) test -run=NONE -bench=Embedded -benchtime=1x -count=1 ./bench

bench-all: services-up ## every benchmark, on every transport × storage combination
	env_out=$$(bash scripts/services.sh env && bash scripts/pulsar.sh env) && eval "$$env_out" && \
		$(GO) test -run=NONE -bench=. -benchtime=1x -count=1 -timeout 60m ./bench
