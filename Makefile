# The two commands of the README: `make run` starts an IN-CSE on the embedded
# store, `make test` runs every test (what .ci/run calls).
GO ?= go

.PHONY: run test vet fuzz bench build generate

run:
	$(GO) run ./cmd/onecse

build:
	$(GO) build -o bin/onecse ./cmd/onecse

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
