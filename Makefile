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

# The kernel reaches physical memory and user memory through uintptr by design, which vet's
# unsafeptr check flags everywhere; it is vetted for its target with that check off.
vet:
	$(GO) vet $$($(GO) list ./... | grep -v '^mote.dev/mote/kernel')
	GOOS=linux GOARCH=amd64 $(GO) vet -unsafeptr=false ./kernel/...

# Unit, fuzz-seed and integration tests (the integration tests boot QEMU, slowly under TCG).
test: qemu vet
	$(GO) test -timeout 40m ./...

clean:
	rm -rf bin
