GO ?= go
BIN := bin/mote

.PHONY: all build demo test vet qemu clean compare

all: build

build:
	$(GO) build -o $(BIN) ./cmd/mote

qemu:
	@scripts/need-qemu.sh

# Boots examples/hello, then serves examples/http on http://127.0.0.1:8080/ (MOTE_DEMO_PORT),
# fetches it once and keeps serving until Ctrl-C.
demo: qemu build
	@command -v curl >/dev/null || { echo "demo: needs curl (apt-get install curl)"; exit 1; }
	scripts/demo.sh

# examples/http as a process, a container, a Linux VM and a mote image, with the smallest
# memory of each: writes docs/COMPARISON.md. Needs root and runc (apt-get install runc).
compare: qemu build
	scripts/compare.sh

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
