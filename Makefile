# flux-mirror: a multi-module Go workspace (see go.work).
#
#   make build   builds bin/flux-mirror with every provider, static, as released
#   make test    vets and tests every module in the workspace, then checks
#                that each module also builds and vets alone (GOWORK=off)
#   make demo    a local end-to-end run: two registries and a Helm repository
#                on loopback, a real sync, then a no-op re-run
#   make bench   the sync benchmarks (see bench/README.md)
#   make image   the container image flux-mirror:$(VERSION) and :dev, FROM scratch
#   make dist    release archives and checksums for every platform in dist/

SHELL := /bin/bash
GO ?= go
MODULES := $(shell $(GO) list -m -f '{{.Dir}}' 2>/dev/null | sed "s|^$(CURDIR)/||" | sort)
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X github.com/fluxcd/flux-mirror/cli/app.version=$(VERSION)
# -race costs a lot of CPU and memory on the heavy modules; it runs where the
# concurrency lives (core's engine, the registry adapter, the CLI).
RACE_MODULES ?= core adapters/registry

.PHONY: all build test test-modules check-standalone vet fmt demo bench tidy image dist

all: build

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/flux-mirror ./cli/cmd/flux-mirror

test: fmt-check test-modules check-standalone

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

test-modules:
	@set -e; for m in $(MODULES); do \
		race=""; for r in $(RACE_MODULES); do [ "$$m" = "$$r" ] && race="-race"; done; \
		echo "== $$m"; start=$$SECONDS; \
		(cd $$m && $(GO) vet ./... && $(GO) test $$race -count=1 ./...); \
		echo "== $$m: $$((SECONDS - start))s"; \
	done

# Every module must be tidy and build and vet (which compiles its tests)
# without the workspace, through its own go.mod and replace lines, and
# resolve the same dependency versions alone as in the workspace.
check-standalone:
	@set -e; for m in $(MODULES); do \
		echo "== GOWORK=off $$m"; start=$$SECONDS; \
		(cd $$m && GOWORK=off $(GO) mod tidy -diff && GOWORK=off $(GO) vet ./...); \
		echo "== GOWORK=off $$m: $$((SECONDS - start))s"; \
	done
	@hack/check-aligned.sh $(MODULES)

# go work sync raises each module's requirements to the workspace's
# versions, so a module alone builds what the workspace builds.
tidy:
	$(GO) work sync
	@for m in $(MODULES); do (cd $$m && GOWORK=off $(GO) mod tidy); done

demo: build
	$(GO) run ./tools/demo -bin bin/flux-mirror

# The sync benchmark takes about 8 minutes on 2 cores (1,000-tag and 1 GiB
# scenarios, four tools); it fails when flux-mirror breaks its request
# contract or misses a performance target (bench/README.md).
bench:
	$(GO) test -run '^$$' -bench . -benchtime 1x -timeout 90m ./bench/...

# The image holds only the static binary (see deploy/Dockerfile); the build
# context is a directory with just that file, so nothing is pulled.
IMAGE ?= flux-mirror
image:
	@rm -rf bin/image && mkdir -p bin/image
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/image/flux-mirror ./cli/cmd/flux-mirror
	$(GO) run ./tools/cabundle > bin/image/ca-certificates.crt
	docker build -q -f deploy/Dockerfile -t $(IMAGE):$(VERSION) -t $(IMAGE):dev bin/image

# Release archives as Flux's plugin catalog expects them (the binary at the
# archive root), with plain go build; .goreleaser.yaml describes the same.
DIST_PLATFORMS ?= linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64 windows/arm64
dist:
	@VERSION=$(VERSION) GO=$(GO) hack/dist.sh $(DIST_PLATFORMS)
