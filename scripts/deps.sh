#!/usr/bin/env bash
# Installs what building and testing Courier needs on a Debian or Ubuntu
# machine, and only what is missing: system packages through apt-get (with
# sudo when not root), Go modules, Go tools and the npm packages used to
# check exports with Postman's own tools.
#
#   scripts/deps.sh app     what `make run` needs (C toolchain and OpenGL/X11 headers)
#   scripts/deps.sh test    what `make test` needs on top (Xvfb, a Secret Service, Node.js, ...)
set -euo pipefail
what=${1:-test}
cd "$(dirname "$0")/.."

sudo_cmd=()
[ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)

need=()
have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
for p in gcc pkg-config libgl1-mesa-dev xorg-dev; do have_pkg "$p" || need+=("$p"); done
if [ "$what" = test ]; then
  for p in xvfb xdotool x11-utils imagemagick gnome-keyring dbus nodejs npm chromium; do
    have_pkg "$p" || need+=("$p")
  done
  # Node and npm may come from elsewhere than Debian's packages.
  if command -v node >/dev/null && command -v npm >/dev/null; then
    filtered=()
    for p in "${need[@]}"; do [ "$p" = nodejs ] || [ "$p" = npm ] || filtered+=("$p"); done
    need=("${filtered[@]}")
  fi
fi
if [ ${#need[@]} -gt 0 ]; then
  if ! command -v apt-get >/dev/null; then
    echo "deps: missing ${need[*]}; install them with your package manager" >&2
    exit 1
  fi
  echo "deps: installing ${need[*]}"
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

command -v go >/dev/null || { echo "deps: Go 1.26 or newer is needed (https://go.dev/dl/)" >&2; exit 1; }
go mod download

if [ "$what" = test ]; then
  gobin=$(go env GOPATH)/bin
  [ -x "$gobin/staticcheck" ] || go install honnef.co/go/tools/cmd/staticcheck@v0.8.2
  if [ -f tools/postman-check/package.json ] && [ ! -d tools/postman-check/node_modules ]; then
    (cd tools/postman-check && npm ci --no-audit --no-fund --loglevel=error)
  fi
fi
