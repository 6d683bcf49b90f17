# Courier: `make run` opens the app, `make test` runs the whole suite. Both
# install what is missing first (scripts/deps.sh).

GO      ?= go
TAGS    := migrated_fynedo
BIN     := bin
VERSION := 0.1.0
# --version of both binaries; FyneApp.toml's Version should match VERSION.
LDFLAGS := -X main.version=$(VERSION)

.PHONY: all deps build run test bench soak lint package clean

all: build

deps:
	scripts/deps.sh test

build:
	scripts/deps.sh app
	CGO_ENABLED=1 $(GO) build -tags $(TAGS) -ldflags "$(LDFLAGS)" -o $(BIN)/courier ./cmd/courier
	@if [ -d cmd/courier-server ]; then $(GO) build -ldflags "$(LDFLAGS)" -o $(BIN)/courier-server ./cmd/courier-server; fi

run: build
	scripts/run.sh

test:
	scripts/test.sh

bench:
	scripts/bench.sh

soak:
	scripts/soak.sh

lint:
	scripts/deps.sh test
	@bad=$$(gofmt -l $$(git ls-files '*.go')); [ -z "$$bad" ] || { echo "gofmt: $$bad"; exit 1; }
	$(GO) vet -tags "$(TAGS) xvfb keyring_integration" ./...
	$$($(GO) env GOPATH)/bin/staticcheck -tags $(TAGS) ./...

# A desktop package (Courier.tar.xz on Linux) of the binary just built, with
# the name, id, version and icon of FyneApp.toml.
package: build
	$(GO) run fyne.io/tools/cmd/fyne@v1.7.4 package --os linux --exe $(BIN)/courier \
		--icon assets/icon.png --name Courier --app-id io.github.courierapp.courier \
		--app-version $(VERSION) --release

clean:
	rm -rf $(BIN)
