GO ?= go
BIN := bin/mote

.PHONY: all build demo test vet qemu clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/mote

qemu:
	@scripts/need-qemu.sh

# Boots examples/hello: it prints its arguments and GREETING.
demo: qemu build
	$(BIN) run -e GREETING=hello ./examples/hello -- world

vet:
	$(GO) vet ./...

# Unit, fuzz-seed and integration tests (the integration tests boot QEMU, slowly under TCG).
test: qemu vet
	$(GO) test -timeout 40m ./...

clean:
	rm -rf bin
