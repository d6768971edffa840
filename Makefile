# weft: the front door. CI calls make targets only.
SHELL := /bin/bash
GO    ?= go
PKGS  ?= ./...

.PHONY: help demo dev test test-short vet fmt bench build fuzz

help: ## list targets
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk -F':.*?## ' '{printf "  %-12s %s\n", $$1, $$2}'

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

test: vet ## run every test with the race detector
	$(GO) test -race -count=1 $(PKGS)

test-short: ## quick tests without the race detector
	$(GO) test -short -count=1 $(PKGS)

fuzz: ## fuzz the decoders for a short while
	$(GO) test -run=NONE -fuzz=FuzzDecodeEnvelope -fuzztime=20s ./core
	$(GO) test -run=NONE -fuzz=FuzzDecodeMessage -fuzztime=20s ./core

bench: ## run the embedded runtime benchmark (prints steps/s and latency percentiles)
	$(GO) test -run=NONE -bench=. -benchtime=1x -count=1 ./bench
