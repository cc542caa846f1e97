# ecrdeploy: the front door. `make test` and `make demo` are the two commands.
GO      ?= go
BIN     := bin
LAMBDA_FLAGS := -tags lambda.norpc -trimpath -ldflags "-s -w"
TOOLS_HINT := pip install 'moto[server]' cfn-lint

.PHONY: all build test unit vet fmt-check check-tools clean help

all: build

help:
	@echo "make test    gofmt and go vet checks, then every test (unit and moto integration) with -race"
	@echo "make unit    unit tests only (no moto)"
	@echo "make build   both Lambda bootstrap binaries for linux/arm64 into $(BIN)/"
	@echo "make clean   remove build output"

## build: both Lambda binaries, as Lambda runs them (provided.al2023, arm64).
build:
	@for fn in deployer promoter; do \
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

## SAM: template.yaml builds each function with BuildMethod: makefile. `sam build`
## copies the function's CodeUri (the repository root, for the one go.mod) to a
## scratch directory and runs `make build-<LogicalId>` there with ARTIFACTS_DIR
## set; the target leaves the executable `bootstrap` in ARTIFACTS_DIR.
SAM_HINT := pip install aws-sam-cli
SAM_DEPLOY_FLAGS ?=

.PHONY: build-DeployerFunction build-PromoterFunction lint deploy

build-DeployerFunction:
	@test -n "$(ARTIFACTS_DIR)" || { echo "ARTIFACTS_DIR is not set: sam build sets it; by hand: make $@ ARTIFACTS_DIR=/tmp/out"; exit 1; }
	GOOS=linux GOARCH=arm64 CGO_ENABLED=0 $(GO) build $(LAMBDA_FLAGS) -o $(ARTIFACTS_DIR)/bootstrap ./functions/deployer

build-PromoterFunction:
	@test -n "$(ARTIFACTS_DIR)" || { echo "ARTIFACTS_DIR is not set: sam build sets it; by hand: make $@ ARTIFACTS_DIR=/tmp/out"; exit 1; }
	GOOS=linux GOARCH=arm64 CGO_ENABLED=0 $(GO) build $(LAMBDA_FLAGS) -o $(ARTIFACTS_DIR)/bootstrap ./functions/promoter

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
