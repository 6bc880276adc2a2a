GO ?= go
BIN := bin/mote

.PHONY: all build demo test vet qemu tools clean compare

all: build

build:
	$(GO) build -o $(BIN) ./cmd/mote

qemu:
	@scripts/need.sh qemu-system-x86_64:qemu-system-x86

# What the tests and mote compare use besides QEMU: runc for the container row, gdb for mote
# debug, ip for network namespaces.
tools: qemu
	@scripts/need.sh runc:runc gdb:gdb ip:iproute2

# Boots examples/hello, then serves examples/http on http://127.0.0.1:8080/ (MOTE_DEMO_PORT),
# fetches it once and keeps serving until Ctrl-C.
demo: qemu build
	@scripts/need.sh curl:curl
	scripts/demo.sh

# examples/http as a process, a container, a Linux VM and a mote image, with the smallest
# memory of each: writes docs/COMPARISON.md. Needs root (the container's namespaces).
compare: tools build
	scripts/compare.sh

# The kernel reaches physical memory and user memory through uintptr by design, which vet's
# unsafeptr check flags everywhere; it is vetted for its target with that check off.
vet:
	$(GO) vet $$($(GO) list ./... | grep -v '^mote.dev/mote/kernel')
	GOOS=linux GOARCH=amd64 $(GO) vet -unsafeptr=false ./kernel/...

# Unit, fuzz-seed and integration tests (the integration tests boot QEMU, slowly under TCG).
test: tools vet
	$(GO) test -timeout 40m ./...

clean:
	rm -rf bin
