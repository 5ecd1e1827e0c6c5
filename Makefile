# bbbfleet: the few targets a newcomer needs.
GO      ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X github.com/bbbfleet/bbbfleet/cmd.version=$(VERSION) -X github.com/bbbfleet/bbbfleet/cmd.commit=$(shell git rev-parse --short HEAD 2>/dev/null || echo none) -X github.com/bbbfleet/bbbfleet/cmd.date=$(shell date -u +%Y-%m-%dT%H:%M:%SZ)

.PHONY: build test demo completions man lint bench clean release-check snapshot

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/bbbfleet .

test:
	$(GO) test -race -count=1 ./...

demo:
	$(GO) run . demo

completions:
	$(GO) run ./internal/gendocs --completions completions

man:
	$(GO) run ./internal/gendocs --man man

lint:
	$(GO) vet ./...
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

clean:
	rm -rf bin dist man

# goreleaser v2.14.3 builds with this Go through the module proxy.
release-check:
	$(GO) run github.com/goreleaser/goreleaser/v2@v2.14.3 check

snapshot:
	$(GO) run github.com/goreleaser/goreleaser/v2@v2.14.3 release --snapshot --clean --skip=publish
