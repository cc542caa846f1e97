# ecrdeploy: the front door. `make test` and `make demo` are the two commands.
GO      ?= go
BIN     := bin
LAMBDA_FLAGS := -tags lambda.norpc -trimpath -ldflags "-s -w"
TOOLS_HINT := pip install 'moto[server]' cfn-lint

.PHONY: all build test unit vet fmt-check check-tools clean help

all: build

help:
	@echo "make test            gofmt and go vet checks, then every test (unit and moto integration) with -race"
	@echo "make unit            unit tests only (no moto)"
	@echo "make demo            the whole flow on this machine, no AWS account (Linux, moto_server): push"
	@echo "                     hello-color:1.1.0 to the deployer, staging's rollout completes, promote"
	@echo "                     staging to production, status; every step checked (DEMO_FLAGS=-v: function logs)"
	@echo "make invoke-push     stand-alone: start moto and the deployer under the Lambda emulator, seed"
	@echo "                     hello-color, send EVENT (default $(EVENT)), print the result, stop"
	@echo "make invoke-promote  stand-alone: the same with both functions; push 1.1.0 and complete staging's"
	@echo "                     rollout, then send REQUEST (JSON or a file; default: promote staging to production)"
	@echo "make build           the Lambda bootstrap binaries (deployer, promoter, board) for linux/arm64 into $(BIN)/"
	@echo "make lint            cfn-lint template.yaml (also part of make test)"
	@echo "make deploy          sam build && sam deploy (SAM_DEPLOY_FLAGS for extra flags)"
	@echo "make bench           calls per decision, wall time, burst, cold start: prints the report"
	@echo "make bench-report    the same, and writes it to docs/benchmarks.md (a full run only)"
	@echo "make fuzz            every fuzz target for FUZZTIME (default 30s) each"
	@echo "make clean           remove build output"

## build: the Lambda binaries, as Lambda runs them (provided.al2023, arm64).
build:
	@for fn in deployer promoter board; do \
		echo "build $(BIN)/$$fn/bootstrap"; \
		GOOS=linux GOARCH=arm64 CGO_ENABLED=0 $(GO) build $(LAMBDA_FLAGS) -o $(BIN)/$$fn/bootstrap ./functions/$$fn || exit 1; \
	done

## check-tools: the local AWS (moto) the integration tests run against.
check-tools:
	@command -v $(GO) >/dev/null || { echo "go not found: install Go 1.26 or newer (https://go.dev/dl/)"; exit 1; }
	@command -v moto_server >/dev/null || { echo "moto_server not found: install it with: $(TOOLS_HINT)"; exit 1; }

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

## test: formatting, vet, then all tests with the race detector.
test: check-tools fmt-check vet lint
	$(GO) test -race -count=1 ./...

unit: fmt-check vet
	ECRDEPLOY_SKIP_INTEGRATION=1 $(GO) test -race -count=1 ./...

clean:
	rm -rf $(BIN)

## demo: the whole flow locally (internal/demo). The program starts moto_server and
## the functions under the Runtime Interface Emulator itself, and stops them on exit,
## failure, Ctrl-C or SIGTERM; invoke-push and invoke-promote each do the same around
## one invocation, so no target depends on another one having been left running.
## The demo program is built with the functions' flags (CGO_ENABLED=0, -trimpath) so
## that they share the build cache; the emulator (go tool aws-lambda-rie), which shares
## nothing with them and is the longest build from a cold cache, is built meanwhile.
DEMO       := $(BIN)/ecrdeploy-demo
DEMO_FLAGS ?=
EVENT      ?= events/push.json
REQUEST    ?=

.PHONY: demo invoke-push invoke-promote demo-program

demo-program: check-tools
	@$(GO) tool -n aws-lambda-rie >/dev/null & rie=$$!; \
	CGO_ENABLED=0 $(GO) build -trimpath -o $(DEMO) ./internal/demo; status=$$?; \
	wait $$rie || status=1; exit $$status

demo: demo-program
	@$(DEMO) $(DEMO_FLAGS) all

invoke-push: demo-program
	@$(DEMO) $(DEMO_FLAGS) -event '$(EVENT)' push

invoke-promote: demo-program
	@$(DEMO) $(DEMO_FLAGS) $(if $(REQUEST),-request '$(REQUEST)') promote

## SAM: template.yaml builds each function with BuildMethod: makefile. `sam build`
## copies the function's CodeUri (the repository root, for the one go.mod) to a
## scratch directory and runs `make build-<LogicalId>` there with ARTIFACTS_DIR
## set; the target leaves the executable `bootstrap` in ARTIFACTS_DIR.
SAM_HINT := pip install aws-sam-cli
SAM_DEPLOY_FLAGS ?=

.PHONY: build-DeployerFunction build-PromoterFunction build-BoardFunction lint deploy

build-DeployerFunction:
	@test -n "$(ARTIFACTS_DIR)" || { echo "ARTIFACTS_DIR is not set: sam build sets it; by hand: make $@ ARTIFACTS_DIR=/tmp/out"; exit 1; }
	GOOS=linux GOARCH=arm64 CGO_ENABLED=0 $(GO) build $(LAMBDA_FLAGS) -o $(ARTIFACTS_DIR)/bootstrap ./functions/deployer

build-PromoterFunction:
	@test -n "$(ARTIFACTS_DIR)" || { echo "ARTIFACTS_DIR is not set: sam build sets it; by hand: make $@ ARTIFACTS_DIR=/tmp/out"; exit 1; }
	GOOS=linux GOARCH=arm64 CGO_ENABLED=0 $(GO) build $(LAMBDA_FLAGS) -o $(ARTIFACTS_DIR)/bootstrap ./functions/promoter

build-BoardFunction:
	@test -n "$(ARTIFACTS_DIR)" || { echo "ARTIFACTS_DIR is not set: sam build sets it; by hand: make $@ ARTIFACTS_DIR=/tmp/out"; exit 1; }
	GOOS=linux GOARCH=arm64 CGO_ENABLED=0 $(GO) build $(LAMBDA_FLAGS) -o $(ARTIFACTS_DIR)/bootstrap ./functions/board

## lint: cfn-lint on the SAM template (part of make test).
lint:
	@command -v cfn-lint >/dev/null || { echo "cfn-lint not found: install it with: $(TOOLS_HINT)"; exit 1; }
	cfn-lint template.yaml

## deploy: build with SAM and deploy the stack (settings in samconfig.toml;
## without it, sam asks and offers to save them). Extra flags: SAM_DEPLOY_FLAGS.
deploy:
	@command -v sam >/dev/null || { echo "sam not found: install the AWS SAM CLI with: $(SAM_HINT)"; exit 1; }
	sam build
	@if [ -f samconfig.toml ]; then \
		echo "sam deploy $(SAM_DEPLOY_FLAGS)"; sam deploy $(SAM_DEPLOY_FLAGS); \
	else \
		echo "sam deploy --guided $(SAM_DEPLOY_FLAGS)"; sam deploy --guided $(SAM_DEPLOY_FLAGS); \
	fi

## fuzz: every fuzz target for FUZZTIME each, one at a time: go test -fuzz takes
## one target per run. A failing input is written to the package's
## testdata/fuzz/<FuzzName>/ directory, where plain go test (make test, make unit)
## replays it with the seed corpora from then on. FUZZMINIMIZETIME caps the time
## spent shrinking each new input: at go's default of 60s, minimising one of the
## multi-kilobyte task definitions ate a whole 30s budget (reported as 0 execs/sec).
FUZZTIME         ?= 30s
FUZZMINIMIZETIME ?= 5s

.PHONY: fuzz

fuzz:
	$(GO) test -run='^$$' -fuzz='^FuzzDecode$$' -fuzztime=$(FUZZTIME) -fuzzminimizetime=$(FUZZMINIMIZETIME) ./pkg/event
	$(GO) test -run='^$$' -fuzz='^FuzzDecodePush$$' -fuzztime=$(FUZZTIME) -fuzzminimizetime=$(FUZZMINIMIZETIME) ./pkg/event
	$(GO) test -run='^$$' -fuzz='^FuzzDecode$$' -fuzztime=$(FUZZTIME) -fuzzminimizetime=$(FUZZMINIMIZETIME) ./pkg/request
	$(GO) test -run='^$$' -fuzz='^FuzzRequestFields$$' -fuzztime=$(FUZZTIME) -fuzzminimizetime=$(FUZZMINIMIZETIME) ./pkg/request
	$(GO) test -run='^$$' -fuzz='^FuzzParse$$' -fuzztime=$(FUZZTIME) -fuzzminimizetime=$(FUZZMINIMIZETIME) ./pkg/config
	$(GO) test -run='^$$' -fuzz='^FuzzParseFields$$' -fuzztime=$(FUZZTIME) -fuzzminimizetime=$(FUZZMINIMIZETIME) ./pkg/config
	$(GO) test -run='^$$' -fuzz='^FuzzParseTemplate$$' -fuzztime=$(FUZZTIME) -fuzzminimizetime=$(FUZZMINIMIZETIME) ./pkg/config
	$(GO) test -run='^$$' -fuzz='^FuzzEvaluate$$' -fuzztime=$(FUZZTIME) -fuzzminimizetime=$(FUZZMINIMIZETIME) ./pkg/policy
	$(GO) test -run='^$$' -fuzz='^FuzzRange$$' -fuzztime=$(FUZZTIME) -fuzzminimizetime=$(FUZZMINIMIZETIME) ./pkg/policy
	$(GO) test -run='^$$' -fuzz='^FuzzDecodeDescribeJSON$$' -fuzztime=$(FUZZTIME) -fuzzminimizetime=$(FUZZMINIMIZETIME) ./pkg/taskdef
	$(GO) test -run='^$$' -fuzz='^FuzzRender$$' -fuzztime=$(FUZZTIME) -fuzzminimizetime=$(FUZZMINIMIZETIME) ./pkg/taskdef
	$(GO) test -run='^$$' -fuzz='^FuzzEqual$$' -fuzztime=$(FUZZTIME) -fuzzminimizetime=$(FUZZMINIMIZETIME) ./pkg/taskdef
	$(GO) test -run='^$$' -fuzz='^FuzzUnified$$' -fuzztime=$(FUZZTIME) -fuzzminimizetime=$(FUZZMINIMIZETIME) ./pkg/taskdef
	$(GO) test -run='^$$' -fuzz='^FuzzImageFor$$' -fuzztime=$(FUZZTIME) -fuzzminimizetime=$(FUZZMINIMIZETIME) ./pkg/taskdef

## bench: what a deployment costs in AWS API calls and in time, against moto through
## the counting proxy with every call taking L in all, moto's own time included:
## the goals, calls per event and what each is for, sequential levels and wall time
## as a multiple of L, a reconcile, a burst of 1,000 pushes,
## cold starts under the Runtime Interface Emulator, binary sizes and memory, then
## the Go benchmarks of the pure parts. make bench prints the report; make
## bench-report also writes it to docs/benchmarks.md (tracked), and refuses a partial
## run. Not part of make test. BENCH_FLAGS passes flags to the report, e.g.
## BENCH_FLAGS='-latency=150ms -reps=9' or (make bench only) '-skip=burst,cold'.
BENCH_FLAGS ?=
BENCH_REPORT := docs/benchmarks.md

.PHONY: bench bench-report bench-gobench

bench-gobench: check-tools
	@mkdir -p $(BIN)
	$(GO) test -run='^$$' -bench=. -benchmem -count=1 ./pkg/policy ./pkg/taskdef ./pkg/deploy ./pkg/board > $(BIN)/gobench.txt || { cat $(BIN)/gobench.txt; exit 1; }
	@cat $(BIN)/gobench.txt

bench: bench-gobench
	$(GO) test -count=1 -timeout=45m -run='^TestReport$$' -v ./internal/bench -args \
		-report=- -gobench=$(CURDIR)/$(BIN)/gobench.txt -command='$(strip make bench $(BENCH_FLAGS))' $(BENCH_FLAGS)

bench-report:
	@case '$(BENCH_FLAGS)' in *-skip*) echo "bench-report: a partial run (-skip) does not replace $(BENCH_REPORT); use make bench to print one"; exit 1;; esac
	@$(MAKE) --no-print-directory bench-gobench
	$(GO) test -count=1 -timeout=45m -run='^TestReport$$' -v ./internal/bench -args \
		-report=$(CURDIR)/$(BENCH_REPORT) -gobench=$(CURDIR)/$(BIN)/gobench.txt -command='$(strip make bench-report $(BENCH_FLAGS))' $(BENCH_FLAGS)
