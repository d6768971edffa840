# weft: the front door. CI calls make targets only.
SHELL := /bin/bash
GO    ?= go
PKGS  ?= ./...
# Modules of their own (tests that need Knative's and Kubernetes' Go types,
# kept out of weft's module; the DBOS command of bench-peers, so that weft
# never depends on DBOS). The first replaces weft by this tree, so a change
# to go.mod needs `make tidy`.
NESTED = knative/validate bench/peers/dbos

.PHONY: functions lambda lint-template build-StateEngineFunction build-ExecutorFunction build-TagEngineFunction build-EventListenerFunction proto deploy-pulsar-functions undeploy-pulsar-functions help demo dev test test-short vet fmt bench bench-load bench-peers bench-binaries bench-knative bench-lambda bench-all build tidy fuzz test-all services-up services-down services-status chaos chaos-short chaos-load images

help: ## list targets
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk -F':.*?## ' '{printf "  %-16s %s\n", $$1, $$2}'

demo: ## run the example workflows on the embedded runtime (no services needed)
	$(GO) run ./cmd/weft demo

dev: ## start the embedded dev server with the examples registered
	$(GO) run ./cmd/weft dev

build: ## build every package and the weft binary
	$(GO) build $(PKGS)
	$(GO) build -o bin/weft ./cmd/weft

# The role binaries: one per role, static, stripped. DRIVERS picks the
# backends each links (any of pulsar knative pgqueue postgres redis mysql; "all" for
# every one); FUNCTIONS_DIR is where they go. They are built with the
# flags cmd/weft-linkfix prints, which let the linker drop the methods the
# binaries never call (a fifth to a third of a Pulsar binary; see
# internal/linkfix).
DRIVERS       ?= pulsar postgres redis
FUNCTIONS_DIR ?= bin
ROLES          = executor state-engine tag-engine event-listener
FUNCTION_TAGS  = lambda.norpc $(if $(filter all,$(DRIVERS)),,weft_custom $(addprefix weft_,$(DRIVERS)))

functions: ## build the four role binaries into bin/ (DRIVERS="pulsar postgres" to choose the backends)
	@mkdir -p $(FUNCTIONS_DIR)
	@flags=$$($(GO) run ./cmd/weft-linkfix -dir $(FUNCTIONS_DIR)/.linkfix) || exit 1; \
	for r in $(ROLES); do \
		CGO_ENABLED=0 $(GO) build $$flags -trimpath -ldflags='-s -w' -tags '$(FUNCTION_TAGS)' -o $(FUNCTIONS_DIR)/$$r ./functions/$$r || exit 1; \
		printf '%-16s %s bytes\n' $(FUNCTIONS_DIR)/$$r $$(stat -c %s $(FUNCTIONS_DIR)/$$r); \
	done

# The role binaries for AWS Lambda (template.yaml, lambda/README.md): each
# is a bootstrap for the provided.al2023 runtime, linking the SQS
# transport, the Lambda runtime and the storages LAMBDA_STORAGE_TAGS names
# (built without aws-lambda-go's legacy RPC mode). `make lambda` builds the
# four into LAMBDA_DIR/<role>/bootstrap for this machine's architecture
# (GOARCH=arm64 for the template's); `sam build` runs the build-<LogicalId>
# targets, which write ARTIFACTS_DIR/bootstrap for arm64.
LAMBDA_STORAGE_TAGS ?= weft_postgres weft_redis weft_mysql
LAMBDA_TAGS          = lambda.norpc weft_custom weft_sqs weft_lambda $(LAMBDA_STORAGE_TAGS)
LAMBDA_DIR          ?= bin/lambda
LAMBDA_GOARCH        = $(if $(GOARCH),$(GOARCH),$(shell $(GO) env GOARCH))

# $(call lambda-build,role,goarch,output) is one shell command. The
# linkfix folder is the role's own, for `sam build --parallel`.
lambda-build = mkdir -p $(dir $(3)) && \
	flags=$$($(GO) run ./cmd/weft-linkfix -dir bin/.linkfix-lambda/$(1)) && \
	GOOS=linux GOARCH=$(2) CGO_ENABLED=0 $(GO) build $$flags -trimpath -ldflags='-s -w' -tags '$(LAMBDA_TAGS)' -o $(3) ./functions/$(1) && \
	printf '%-40s %s bytes\n' $(3) $$(stat -c %s $(3))
sam-artifacts = $(if $(ARTIFACTS_DIR),$(ARTIFACTS_DIR),$(error ARTIFACTS_DIR is not set: sam build sets it))

lambda: ## build the four role binaries for AWS Lambda into bin/lambda/<role>/bootstrap (GOARCH=arm64 for the template's)
	@$(foreach r,$(ROLES),$(call lambda-build,$(r),$(LAMBDA_GOARCH),$(LAMBDA_DIR)/$(r)/bootstrap) && ) true

build-StateEngineFunction:
	@$(call lambda-build,state-engine,arm64,$(sam-artifacts)/bootstrap)
build-ExecutorFunction:
	@$(call lambda-build,executor,arm64,$(sam-artifacts)/bootstrap)
build-TagEngineFunction:
	@$(call lambda-build,tag-engine,arm64,$(sam-artifacts)/bootstrap)
build-EventListenerFunction:
	@$(call lambda-build,event-listener,arm64,$(sam-artifacts)/bootstrap)

lint-template: ## check template.yaml with cfn-lint (installed once into ~/.cache/weft; make test-all runs it)
	bash scripts/cfnlint.sh

# Deploys the role binaries to the functions worker at WEFT_PULSAR_ADMIN_URL
# with the WEFT_* settings of the environment (see `weft deploy
# pulsar-functions -h`); DEPLOY_FLAGS (UNDEPLOY_FLAGS) adds flags, e.g. -parallelism 2.
DEPLOY_FLAGS ?=
UNDEPLOY_FLAGS ?=

deploy-pulsar-functions: functions ## build the role binaries and deploy them as Pulsar Functions (WEFT_PULSAR_ADMIN_URL, WEFT_* settings)
	$(GO) run ./cmd/weft deploy pulsar-functions -dir $(FUNCTIONS_DIR) $(DEPLOY_FLAGS)

undeploy-pulsar-functions: ## delete the Pulsar Functions deploy-pulsar-functions made
	$(GO) run ./cmd/weft undeploy pulsar-functions $(UNDEPLOY_FLAGS)

tidy: ## go mod tidy in weft's module and in the nested ones
	$(GO) mod tidy
	@for m in $(NESTED); do (cd $$m && $(GO) mod tidy) || exit 1; done

vet: ## gofmt check and go vet
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)
	@for m in $(NESTED); do (cd $$m && $(GO) vet ./...) || exit 1; done

# The tests check core's in-memory shortcuts (kept encodings, the command
# index, kept step evaluations) against the plain computations; the
# benchmarks do not.
test test-all test-short chaos chaos-short fuzz: export WEFT_TEST_CORE_VERIFY := 1

test: vet ## quick: every test on the in-memory backends only (race detector on)
	$(GO) test -race -count=1 $(PKGS)
	@for m in $(NESTED); do (cd $$m && $(GO) test -race -count=1 ./...) || exit 1; done

test-all: services-up vet ## every test against real services, then the short chaos suite; what CI runs
	env_out=$$(bash scripts/services.sh env && bash scripts/pulsar.sh env && bash scripts/secured.sh env && bash scripts/elasticmq.sh env && bash scripts/rie.sh env) && eval "$$env_out" && \
		export TEST_REQUIRE_INTEGRATION=1 && $(GO) test -race -count=1 -timeout 30m $(PKGS)
	@for m in $(NESTED); do (cd $$m && $(GO) test -race -count=1 ./...) || exit 1; done
	$(MAKE) lint-template
	$(MAKE) chaos-short

# The chaos suite starts services of its own (state in WEFT_CHAOS_DIR, ports
# WEFT_CHAOS_*_PORT; see integration/chaos) and restarts them, so it never
# touches the shared ones; it stops them when it ends. WEFT_CHAOS_SEED
# replays a schedule.
CHAOS_TEST = $(GO) test -race -count=1 -v -run '^TestChaos$$' ./integration/chaos

chaos: ## the chaos suite: 1,000 workflows per transport × storage pair under SIGKILLs and service restarts
	WEFT_CHAOS=full $(CHAOS_TEST) -timeout 180m

chaos-short: ## the chaos suite's short form (100 workflows per pair, every fault once), run by test-all
	WEFT_CHAOS=short $(CHAOS_TEST) -timeout 60m

chaos-load: ## 10,000 workflows on pulsar+postgres with no fault: how many tasks run twice
	WEFT_CHAOS=full WEFT_CHAOS_FAULTS=none WEFT_CHAOS_WORKFLOWS=10000 WEFT_CHAOS_RACE=0 \
		WEFT_CHAOS_COMBINATIONS=$${WEFT_CHAOS_COMBINATIONS:-pulsar+postgres} $(CHAOS_TEST) -timeout 180m

services-up: ## start PostgreSQL, MariaDB, Redis, a Pulsar standalone broker (plain and secured) and ElasticMQ (SQS) on loopback
	bash scripts/services.sh up
	bash scripts/pulsar.sh up
	bash scripts/secured.sh up
	bash scripts/elasticmq.sh up

services-down: ## stop the services started by services-up
	bash scripts/elasticmq.sh down
	bash scripts/secured.sh down
	bash scripts/pulsar.sh down
	bash scripts/services.sh down
	bash scripts/services.sh down postgres-durable

services-status: ## show whether each service answers
	bash scripts/services.sh status
	bash scripts/pulsar.sh status
	bash scripts/secured.sh status
	bash scripts/elasticmq.sh status

proto: ## regenerate the committed Pulsar Functions InstanceControl code (needs protoc, and protoc-gen-go and protoc-gen-connect-go as in adapters/pulsar-functions/generate.go)
	$(GO) generate ./adapters/pulsar-functions/...

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

bench: ## the embedded runtime: steps/s and latency percentiles, then cost growth (CPU per step of 10 to 10,000-step workflows, And fan-outs of 1,000 and 10,000)
	$(GO) test -run=NONE -bench='^Benchmark(EmbeddedSequential10|CostGrowth)$$' -benchtime=1x -count=1 -timeout 60m ./bench

LOAD_WORKFLOWS ?= 10000

bench-load: services-up ## LOAD_WORKFLOWS (10000) workflows in flight on every combination, with and without a fault: re-executed tasks
	env_out=$$(bash scripts/services.sh env && bash scripts/pulsar.sh env && bash scripts/elasticmq.sh env) && eval "$$env_out" && \
		$(GO) test -run=NONE -bench=^BenchmarkLoad$$ -benchtime=1x -count=1 -timeout 180m ./bench -args -bench.load-workflows=$(LOAD_WORKFLOWS)

# BenchmarkPeers: weft's setups (memory, pgqueue+postgres, pulsar+postgres,
# pulsar+redis) beside DBOS Transact Go (bench/peers/dbos), PEERS_ROUNDS
# alternating rounds of PEERS_WORKFLOWS workflows of ten steps, 100 in
# flight, on the test PostgreSQL and on a durable one (fsync on).
PEERS_ROUNDS    ?= 3
PEERS_WORKFLOWS ?= 1000

bench-peers: services-up ## weft beside DBOS Transact Go on the same workload, on the test and a durable PostgreSQL: steps/s, p50/p99, ratios (PEERS_ROUNDS, PEERS_WORKFLOWS)
	bash scripts/services.sh up postgres-durable
	env_out=$$(bash scripts/services.sh env postgres redis postgres-durable && bash scripts/pulsar.sh env) && eval "$$env_out" && \
		$(GO) test -run=NONE -bench=^BenchmarkPeers$$ -benchtime=1x -count=1 -timeout 60m ./bench \
			-args -bench.peers-rounds=$(PEERS_ROUNDS) -bench.peers-workflows=$(PEERS_WORKFLOWS)

BINARY_STARTS ?= 5

bench-binaries: services-up ## size, cold start (to ready, to first answer) and idle RSS of each role binary, per driver profile; BINARY_STARTS (5) starts each
	env_out=$$(bash scripts/services.sh env && bash scripts/pulsar.sh env && bash scripts/elasticmq.sh env) && eval "$$env_out" && \
		$(GO) test -run=NONE -bench=^BenchmarkRoleBinaries$$ -benchtime=1x -count=1 -timeout 60m ./bench -args -bench.binary-starts=$(BINARY_STARTS)

bench-knative: services-up ## the state engine in Knative mode per storage (requests/s, p50/p99), and its binary's cold start until its first answered request
	env_out=$$(bash scripts/services.sh env && bash scripts/elasticmq.sh env) && eval "$$env_out" && \
		$(GO) test -run=NONE -bench='^BenchmarkKnative' -benchtime=3000x -count=1 -timeout 30m ./bench

bench-lambda: services-up ## the role binaries under the Lambda emulator (SQS, PostgreSQL): size, init duration, first answer; executor invocations/s
	env_out=$$(bash scripts/services.sh env && bash scripts/elasticmq.sh env && bash scripts/rie.sh env) && eval "$$env_out" && \
		$(GO) test -run=NONE -bench='^BenchmarkLambda$$' -benchtime=300x -count=1 -timeout 30m ./bench -args -bench.binary-starts=$(BINARY_STARTS)

bench-all: services-up ## every benchmark, on every transport × storage combination
	env_out=$$(bash scripts/services.sh env && bash scripts/pulsar.sh env && bash scripts/elasticmq.sh env) && eval "$$env_out" && \
		$(GO) test -run=NONE -bench=. -benchtime=1x -count=1 -timeout 240m ./bench

# The role images, built by ko with no Docker daemon and nothing pulled:
# one image per role binary, with the profile of .ko.yaml (Pulsar,
# PostgreSQL, Redis, Knative), static, stripped and linked with
# cmd/weft-linkfix's fix like `make functions`, on a base that
# scripts/baseimage writes into ko's cache (the nonroot user 65532, this
# machine's CA certificates, /tmp). They land in IMAGES_DIR/weft-images.tar
# as IMAGE_REPO/<role>:IMAGE_TAG, for `docker load -i`, `podman load -i` or
# `crane push`. KO_VERSION pins ko, which go run builds.
KO_VERSION     ?= v0.19.1
IMAGES_DIR     ?= bin/images
IMAGE_REPO     ?= weft
IMAGE_TAG      ?= latest
IMAGE_PLATFORM ?= linux/amd64

images: ## build the four role images with ko into IMAGES_DIR (bin/images)/weft-images.tar: no Docker, no registry
	@mkdir -p $(IMAGES_DIR)
	@set -e; dir=$$(cd $(IMAGES_DIR) && pwd); \
	flags=$$($(GO) run ./cmd/weft-linkfix -dir $$dir/.linkfix); \
	case "$$flags" in ""|-modfile=*) ;; *) echo "images: unexpected weft-linkfix flags: $$flags" >&2; exit 1 ;; esac; \
	base=$$($(GO) run ./scripts/baseimage -kocache $$dir/.kocache -platform $(IMAGE_PLATFORM)); \
	rev=$$(git rev-parse HEAD 2>/dev/null || echo unknown); \
	KOCACHE=$$dir/.kocache KO_DEFAULTBASEIMAGE=$$base KO_DOCKER_REPO=$(IMAGE_REPO) LINKFIX_MODFILE=$${flags#-modfile=} \
	$(GO) run github.com/google/ko@$(KO_VERSION) build --base-import-paths --push=false --sbom=none \
		--platform=$(IMAGE_PLATFORM) --tags=$(IMAGE_TAG) --image-user=65532 \
		--image-label=org.opencontainers.image.title=weft,org.opencontainers.image.source=https://github.com/weftio/weft,org.opencontainers.image.revision=$$rev \
		--tarball=$$dir/weft-images.tar $(addprefix ./functions/,$(ROLES)); \
	printf '%s: %s bytes\n' $(IMAGES_DIR)/weft-images.tar $$(stat -c %s $$dir/weft-images.tar)
