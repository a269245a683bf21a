# Everything a developer or CI runs. `make run` serves on :8080; `make test`
# runs the whole suite (Go with -race, real Socket.IO clients, Chromium).
BIN     := bin/chatserver
GOFLAGS := -trimpath
export CGO_ENABLED := 0

.PHONY: run build assets test test-go test-image test-node vet soak clean

run: build
	./$(BIN)

build: assets
	go build $(GOFLAGS) -o $(BIN) .

# Client bundles come from the npm registry (package-lock.json) at build time.
node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund

# The player's demo clip is generated too (cmd/democlip), never committed.
assets: node_modules/.package-lock.json
	node scripts/copy-client-bundles.js
	go run ./cmd/democlip -o static/media/demo.wav

# staticcheck is pinned in go.mod (tool directive): no install step.
vet:
	go vet ./...
	go tool staticcheck ./...
	@out=$$(gofmt -l $$(go list -f '{{.Dir}}' ./...)); test -z "$$out" || { echo "gofmt needed: $$out"; exit 1; }

test: build vet test-go test-node

# -race needs cgo; the shipped binary does not. ./... includes
# test/container (the image's runtime stage, docker-compose.yml).
test-go:
	CGO_ENABLED=1 go test -race -count=1 -timeout 10m ./...

# The container checks alone: the binary built as the Dockerfile builds it,
# static, run as the image runs it (as root: in a chroot, as uid 65532);
# the image itself where docker or podman works.
test-image:
	go test -count=1 -v -timeout 10m ./test/container

# Real socket.io-client generations, Chromium, Node socket.io nodes, a
# three-node cluster behind nginx, and hostile input (malformed, oversized,
# slow, flooding, a 2,000-member room), against the built binary.
test-node: build
	CHAT_BIN=$(CURDIR)/$(BIN) node --test --test-concurrency=1 test/unit/ test/chat/ test/browser/ test/interop/ test/cluster/ test/hostile/

# Not part of test: SOAK_SECONDS (default 300) of WebSocket and polling
# churn against the built binary, then a bounded wait for RSS, descriptors
# and goroutines to come back; bench/results/soak.md and soak.csv.
soak: build
	bench/soak.sh

clean:
	rm -rf bin static/vendor/socketio/*.js static/vendor/socketio/*.map static/vendor/admin-ui static/media/*.wav
