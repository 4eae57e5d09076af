# The two commands of the README: `make run` starts an IN-CSE on the embedded
# store, `make test` runs every test (what .ci/run calls).
GO ?= go

.PHONY: run test vet fuzz bench build generate

run:
	$(GO) run ./cmd/onecse

# The version and commit "onecse --version" prints, from git when there is
# one (Go records the commit itself only in a plain checkout).
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null)
COMMIT ?= $(shell git rev-parse HEAD 2>/dev/null)
LDFLAGS = $(if $(VERSION),-X github.com/onecse/onecse/internal/version.Version=$(VERSION)) $(if $(COMMIT),-X github.com/onecse/onecse/internal/version.Commit=$(COMMIT))

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/onecse ./cmd/onecse

test:
	$(GO) vet ./...
	$(GO) test -race -count=1 -timeout 20m ./...

generate:
	$(GO) generate ./...

# Each fuzz target for a short while (FUZZTIME=1m for longer).
FUZZTIME ?= 20s
fuzz:
	./scripts/fuzz.sh $(FUZZTIME)

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...
