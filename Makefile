# lakelink: `make demo` shows the main job against the local emulator,
# `make test` runs every test. Both install what they need first.

GO  ?= go
OUT := build/out

.PHONY: all build deps tools browser wheel libs dist test-dist test-platforms test test-python test-node test-wasm bench bench-smoke soak fuzz demo clean test-windows-go

all: build

deps:
	@echo "==> Downloading Go modules"
	@$(GO) mod download

build: deps
	@echo "==> Building $(OUT)/lakelink"
	@$(GO) build -o $(OUT)/lakelink ./cmd/lakelink
	@echo "==> Building $(OUT)/liblakelink.so and $(OUT)/lakelink.h"
	@CGO_ENABLED=1 $(GO) build -buildmode=c-shared -ldflags '-s -w' -o $(OUT)/liblakelink.so ./capi
	@rm -f $(OUT)/liblakelink.h # cgo's generated header; the public one is written by hand
	@cp capi/lakelink.h $(OUT)/lakelink.h
	@echo "==> Building $(OUT)/lakelink.wasm (WASI reactor)"
	@GOOS=wasip1 GOARCH=wasm CGO_ENABLED=0 $(GO) build -buildmode=c-shared -ldflags '-s -w' -o $(OUT)/lakelink.wasm ./wasm

# The C library needs cgo: `tools` installs gcc when missing.
build: tools

# PostgreSQL (server binaries for the emulator's throwaway cluster, psql for
# the demo and tests), curl, python3 (the demo) and a C compiler (the race
# detector needs cgo), from Debian's packages when missing.
tools:
	@build/ensure-tools.sh

# Debian's chromium and playwright-core (build/browser) for the
# real-browser login test.
browser:
	@build/ensure-browser.sh

PYVENV := $(OUT)/pyvenv

# A project-local virtualenv for the Python binding's tests, with
# bindings/python/tests/requirements.txt (installed again when it changes).
$(PYVENV)/requirements.txt: bindings/python/tests/requirements.txt
	@echo "==> Installing $(PYVENV) ($<)"
	@test -x $(PYVENV)/bin/python || python3 -m venv $(PYVENV)
	@$(PYVENV)/bin/pip install -q --upgrade pip
	@$(PYVENV)/bin/pip install -q -r $<
	@cp $< $@

# The Python binding as a py3-none-<platform> wheel carrying liblakelink.so,
# in $(OUT)/wheels. bindings/python's in-tree build backend
# (_backend/lakelink_build.py) runs the Go build itself, as it does for
# `pip install bindings/python`.
wheel: deps tools $(PYVENV)/requirements.txt
	@echo "==> Building the Python wheel into $(OUT)/wheels"
	@mkdir -p $(OUT)/wheels
	@GO=$(GO) $(PYVENV)/bin/pip wheel -q --no-index --no-deps -w $(OUT)/wheels bindings/python
	@ls $(OUT)/wheels/lakelink-*.whl | sed 's/^/    /'

test-python: build $(PYVENV)/requirements.txt
	@echo "==> Python binding: mypy --strict, then pytest against the emulator"
	@cd bindings/python && ../../$(PYVENV)/bin/mypy --strict
	@PYTHONDONTWRITEBYTECODE=1 $(PYVENV)/bin/python -m pytest bindings/python/tests -q -p no:cacheprovider

NODEPKG := bindings/node

# The Node binding's dependencies from its package-lock.json (koffi; for the
# tests typescript and @types/node), after making sure Node 20+ is there.
$(NODEPKG)/node_modules/.package-lock.json: $(NODEPKG)/package-lock.json
	@$(NODEPKG)/scripts/ensure-node.sh
	@echo "==> npm ci in $(NODEPKG) (koffi, typescript, @types/node)"
	@cd $(NODEPKG) && npm ci --prefer-offline --no-audit --no-fund --loglevel=error
	@touch $@

NODEINTEG := $(NODEPKG)/test/integrations

# The drivers and ORMs lakelink's Node login is tested with (pg, Postgres.js,
# Drizzle, Kysely, Knex, Prisma with @prisma/adapter-pg, TypeORM), from npm
# as their users install them (its package-lock.json).
$(NODEINTEG)/node_modules/.package-lock.json: $(NODEINTEG)/package-lock.json $(NODEPKG)/node_modules/.package-lock.json
	@echo "==> npm ci in $(NODEINTEG) (pg, postgres, drizzle-orm, kysely, knex, prisma, typeorm)"
	@cd $(NODEINTEG) && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

# The Prisma client of the integration test's schema. Prisma's CLI fetches
# its schema engine (a binary, from Prisma's own server, which this machine
# cannot reach) before any command, generate included, although generate
# never runs it (Prisma 7 reads the schema with WebAssembly, and a client
# with a driver adapter needs no engine): PRISMA_SCHEMA_ENGINE_BINARY names
# a stand-in so that generate runs offline. (prisma migrate and db would
# need the real engine.)
$(NODEINTEG)/prisma/generated/index.js: $(NODEINTEG)/prisma/schema.prisma $(NODEINTEG)/node_modules/.package-lock.json
	@cd $(NODEINTEG) && PRISMA_SCHEMA_ENGINE_BINARY=/bin/false node_modules/.bin/prisma generate --schema prisma/schema.prisma > /dev/null
	@touch $@

test-node: build $(NODEPKG)/node_modules/.package-lock.json $(NODEINTEG)/prisma/generated/index.js
	@echo "==> Node binding: tsc --noEmit over test/usage.ts, then node --test against the emulator"
	@cd $(NODEPKG) && node_modules/.bin/tsc --noEmit -p test
	@cd $(NODEPKG) && node test/run.js
	@echo "==> Node login for other drivers: pg, Postgres.js, Drizzle, Kysely, Knex, Prisma, TypeORM (emulator with --token-ttl 5s)"
	@cd $(NODEINTEG) && node run.js

WASMVENV := $(OUT)/wasmvenv

# A virtualenv with the wasmtime runtime for the Python example of lakelink.wasm.
$(WASMVENV)/bin/python:
	@echo "==> Creating $(WASMVENV) (wasmtime)"
	@python3 -m venv $(WASMVENV)
	@$(WASMVENV)/bin/pip install -q 'wasmtime==50.0.1'

# lakelink.wasm in its three hosts, each against an emulator: Go (wazero),
# Node (require('lakelink/wasm'), no native library) and Python (wasmtime).
# The wazero test also runs the C library and the CLI on the same inputs
# (wasm/hosttest/agree_test.go: the three exports agree).
test-wasm: build $(WASMVENV)/bin/python $(NODEPKG)/node_modules/.package-lock.json
	@size=$$(wc -c < $(OUT)/lakelink.wasm); echo "==> lakelink.wasm is $$size bytes (at most 16,000,000: wasm/README.md)"; \
		test $$size -le 16000000 || { echo "lakelink.wasm grew over 16 MB: code the WASI build never runs is linked in (wasm/README.md, Size)" >&2; exit 1; }
	@echo "==> lakelink.wasm: go vet for wasip1, then the wazero host test (Go)"
	@GOOS=wasip1 GOARCH=wasm $(GO) vet ./wasm
	@LAKELINK_WASM=$(abspath $(OUT)/lakelink.wasm) LAKELINK_LIBRARY=$(abspath $(OUT)/liblakelink.so) LAKELINK_CLI=$(abspath $(OUT)/lakelink) \
		$(GO) test -count=1 -timeout 10m ./wasm/...
	@echo "==> lakelink.wasm: require('lakelink/wasm') (node --test)"
	@wasm/examples/with-emulator.sh $(OUT)/lakelink node --test bindings/node/test/wasm.test.js
	@echo "==> lakelink.wasm: the Python example (wasmtime)"
	@PYTHONDONTWRITEBYTECODE=1 wasm/examples/with-emulator.sh $(OUT)/lakelink $(WASMVENV)/bin/python wasm/examples/python/example.py $(OUT)/lakelink.wasm

test: build tools browser test-python test-node bench-smoke test-wasm test-dist
	@echo "==> go vet"
	@$(GO) vet ./...
	@echo "==> Go tests (with the race detector, which needs cgo)"
	@CGO_ENABLED=1 $(GO) test -race -count=1 -timeout 20m ./...
	@echo "==> Go integrations: GORM and goose over the database/sql driver (a module of its own)"
	@cd core/lakebase/stdlib/integrations && $(GO) vet ./... && CGO_ENABLED=1 $(GO) test -race -count=1 -timeout 5m ./...

BENCHVENV := $(OUT)/benchvenv

# The peers lakelink is measured against, in a virtualenv of their own from
# bench/requirements.txt (psycopg 3, asyncpg, SQLAlchemy, pandas, requests;
# installed again when it changes); pg and Postgres.js from npm in bench/node
# (package-lock.json).
$(BENCHVENV)/requirements.txt: bench/requirements.txt
	@echo "==> Installing $(BENCHVENV) ($<)"
	@test -x $(BENCHVENV)/bin/python || python3 -m venv $(BENCHVENV)
	@$(BENCHVENV)/bin/pip install -q --upgrade pip
	@$(BENCHVENV)/bin/pip install -q -r $<
	@cp $< $@

# (After the Node binding's own install, which makes sure Node is there;
# the Node workloads need both.)
bench/node/node_modules/pg/package.json: bench/node/package-lock.json $(NODEPKG)/node_modules/.package-lock.json
	@echo "==> Installing pg into bench/node/node_modules"
	@cd bench/node && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

# Benchmarks against the peers (psycopg 3, pg, requests, fetch, pgx; see
# bench/RESULTS.md): writes bench/results.json and
# bench/RESULTS.md. About 6 minutes.
bench: build $(BENCHVENV)/requirements.txt bench/node/node_modules/pg/package.json
	@$(BENCHVENV)/bin/python bench/run.py

# One tiny round of every benchmark workload: the runner and the workloads
# work (part of make test).
bench-smoke: build $(BENCHVENV)/requirements.txt bench/node/node_modules/pg/package.json
	@echo "==> Benchmark smoke run"
	@$(BENCHVENV)/bin/python bench/run.py --smoke > $(OUT)/bench-smoke.log 2>&1 || { cat $(OUT)/bench-smoke.log; exit 1; }

# The reliability suite (bench/RELIABILITY.md) at full length:
# the tests `make test` runs short, with LAKELINK_SOAK=1 (token endpoint
# faults, four processes sharing a token file for a minute, sessions cut
# mid-query, PostgreSQL restarted under load, 32 workers for 2 minutes on
# 5-second credentials; 100,000 identities through bounded caches, 1,000
# sessions opened and closed, a pool recycling sessions for 10 minutes,
# 10,000 requests as 500 App users; the Python binding's counterparts).
# Figures go to $(OUT)/soak.jsonl. About 15 minutes.
SOAK_TESTS := TestTokenEndpointFaults|TestProcessesShareRotatingRefreshTokens|TestSessionsCutMidQuery|TestPostgresRestartUnderLoad|TestShortLivedCredentialsUnderLoad|TestManyIdentitiesStayBounded|TestOpenCloseLeavesNothing|TestPoolRecyclesSessions|TestAsUserManyTokens
SOAK_PYTHON := test_many_users_under_threads or test_distinct_token_identities_keep_rss_bounded or test_connect_close_leaves_no_session
soak: build tools $(PYVENV)/requirements.txt
	@echo "==> Reliability suite, long version (race detector on)"
	@rm -f $(OUT)/soak.jsonl
	@LAKELINK_SOAK=1 LAKELINK_SOAK_OUT=$(CURDIR)/$(OUT)/soak.jsonl CGO_ENABLED=1 \
		$(GO) test -race -count=1 -timeout 30m -run '^($(SOAK_TESTS))$$' ./core/auth ./core/lakebase
	@echo "==> Python binding, long version"
	@LAKELINK_SOAK=1 LAKELINK_SOAK_OUT=$(CURDIR)/$(OUT)/soak.jsonl PYTHONDONTWRITEBYTECODE=1 \
		$(PYVENV)/bin/python -m pytest bindings/python/tests -q -p no:cacheprovider -k '$(SOAK_PYTHON)'
	@echo "==> Figures ($(OUT)/soak.jsonl)"
	@cat $(OUT)/soak.jsonl

# Every fuzz target for FUZZTIME each (go test -fuzz takes one target at a
# time): connection strings, token responses, the gateway's startup
# messages, LLPB parameter lists, and the Python and Node batch decoders
# (mutation harnesses over committed corpora). About 7 minutes.
FUZZTIME ?= 60
GO_FUZZ_TARGETS := ./core/connstr:FuzzParse ./core/auth:FuzzParseTokenResponse \
	./core/emulator:FuzzGatewayStartup ./core/lakebase:FuzzDecodeParams
fuzz: build tools $(NODEPKG)/node_modules/.package-lock.json
	@for t in $(GO_FUZZ_TARGETS); do \
		echo "==> $${t#*:} ($${t%%:*}) for $(FUZZTIME)s"; \
		$(GO) test -run '^$$' -fuzz "^$${t#*:}$$" -fuzztime $(FUZZTIME)s "$${t%%:*}" || exit 1; \
	done
	@echo "==> Python batch decoder for $(FUZZTIME)s"
	@python3 bindings/python/fuzz/fuzz_batch.py --seconds $(FUZZTIME)
	@echo "==> Node batch decoder for $(FUZZTIME)s"
	@node bindings/node/fuzz/fuzz_batch.js $(FUZZTIME)

# ---- Distribution (issue 19): build/dist/, artifacts in $(OUT)/dist/

# The Go sources the library is built from (a prebuilt library is rebuilt
# when one changes).
LIB_SOURCES := go.mod go.sum VERSION version.go \
	$(shell find core capi internal -path capi/tests -prune -o \( -name '*.go' ! -name '*_test.go' -o -name '*.[ch]' \) -print)
LIBS := $(OUT)/libs

DISTVENV := $(OUT)/distvenv

# zig and auditwheel (build/dist/requirements.txt) in $(DISTVENV), and
# MinGW-w64 from Debian's packages (build/dist/ensure-tools.sh), once
# before the libraries are built (libs.sh checks again, quickly).
$(DISTVENV)/requirements.txt: build/dist/requirements.txt build/dist/ensure-tools.sh
	@build/dist/ensure-tools.sh
	@touch $@

# liblakelink cross-built for each shipped platform (build/dist/libs.sh:
# zig cc against glibc 2.28 for Linux, MinGW-w64 for Windows), each into
# $(LIBS)/<target>/ with lakelink.h.
$(LIBS)/linux-x86_64/liblakelink.so $(LIBS)/linux-aarch64/liblakelink.so: $(LIBS)/%/liblakelink.so: $(LIB_SOURCES) build/dist/libs.sh $(DISTVENV)/requirements.txt
	@build/dist/libs.sh $*
$(LIBS)/windows-x86_64/lakelink.dll: $(LIB_SOURCES) build/dist/libs.sh $(DISTVENV)/requirements.txt
	@build/dist/libs.sh windows-x86_64

libs: $(LIBS)/linux-x86_64/liblakelink.so $(LIBS)/linux-aarch64/liblakelink.so $(LIBS)/windows-x86_64/lakelink.dll

DIST := $(OUT)/dist
# The platforms `make dist` builds for (all three by default).
DIST_TARGETS ?= linux-x86_64 linux-aarch64 windows-x86_64
dist_lib = $(LIBS)/$(1)/$(if $(filter windows-%,$(1)),lakelink.dll,liblakelink.so)

# Every release artifact into $(DIST)/ (build/dist/dist.sh): the wheels
# (manylinux_2_28 x86_64 and aarch64, win_amd64), the sdist (builds the
# library from its Go sources: macOS), the main npm package and one per
# platform carrying the library, the C libraries, SHA256SUMS. Installs its
# tools itself (zig and auditwheel from PyPI, MinGW-w64 from Debian).
dist: build $(foreach t,$(DIST_TARGETS),$(call dist_lib,$(t)))
	@$(NODEPKG)/scripts/ensure-node.sh
	@DIST_TARGETS="$(DIST_TARGETS)" build/dist/dist.sh

# koffi's tarballs, from the registry, for the offline npm install test.
$(OUT)/npm-deps/.fetched: $(NODEPKG)/package-lock.json build/dist/npm-deps.sh
	@$(NODEPKG)/scripts/ensure-node.sh
	@build/dist/npm-deps.sh
	@touch $@

# make dist's artifacts installed offline into fresh environments
# (build/dist/tests): the x86_64 wheel and the sdist (built with Go from the
# module cache) in fresh venvs, the main and linux-x64 npm packages in an
# empty project with an empty npm cache, each querying the emulator;
# auditwheel on the Linux wheels; a Go module replacing lakelink with this
# checkout.
test-dist: dist $(PYVENV)/requirements.txt $(OUT)/npm-deps/.fetched
	@echo "==> make dist's artifacts, installed offline into fresh environments (build/dist/tests)"
	@DIST_TARGETS="$(DIST_TARGETS)" PYTHONDONTWRITEBYTECODE=1 $(PYVENV)/bin/python -m pytest build/dist/tests -q -p no:cacheprovider

# The aarch64 library under qemu-user and the Windows one under wine, with
# the C test programs and the bindings' smoke tests against the emulator
# (build/platforms/run.sh).
test-platforms: build libs
	@build/platforms/run.sh

# The Go packages' tests cross-compiled for Windows and run under wine
# (build/platforms/windows-go-tests.sh; about six minutes; wine 8.0 fails
# some for reasons build/platforms/README.md lists).
test-windows-go: build
	@build/platforms/run.sh windows-go

demo: build tools
	@build/demo.sh $(OUT)/lakelink

clean:
	rm -rf $(OUT)
