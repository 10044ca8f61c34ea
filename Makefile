# lakelink: `make demo` shows the main job against the local emulator,
# `make test` runs every test. Both install what they need first.

GO  ?= go
OUT := build/out

.PHONY: all build deps tools test demo clean

all: build

deps:
	@echo "==> Downloading Go modules"
	@$(GO) mod download

build: deps
	@echo "==> Building $(OUT)/lakelink"
	@$(GO) build -o $(OUT)/lakelink ./cmd/lakelink

# PostgreSQL (server binaries for the emulator's throwaway cluster, psql for
# the demo and tests) and curl, from Debian's packages when missing.
tools:
	@build/ensure-tools.sh

test: build tools
	@echo "==> go vet"
	@$(GO) vet ./...
	@echo "==> Go tests (with the race detector)"
	@$(GO) test -race -count=1 -timeout 20m ./...

demo: build tools
	@build/demo.sh $(OUT)/lakelink

clean:
	rm -rf $(OUT)
