#!/usr/bin/env bash
# Opens the Courier app. When the sync server is built, a local development
# server (`courier-server --dev`) is started in the background first unless
# one already listens on 127.0.0.1:8443, and the app is pointed at it.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -x bin/courier-server ]; then
  if ! (exec 3<>/dev/tcp/127.0.0.1/8443) 2>/dev/null; then
    mkdir -p .courier-dev
    nohup bin/courier-server --dev >.courier-dev/server.log 2>&1 &
    echo "started courier-server --dev (log: .courier-dev/server.log, mailbox: .courier-dev/mail/)"
    for _ in $(seq 100); do
      [ -s .courier-dev/ca.pem ] && (exec 3<>/dev/tcp/127.0.0.1/8443) 2>/dev/null && break
      sleep 0.1
    done
  fi
fi
if [ -s .courier-dev/ca.pem ]; then
  # Point the app at the local server unless the caller chose another.
  export COURIER_SERVER=${COURIER_SERVER:-https://127.0.0.1:8443}
  export COURIER_CA=${COURIER_CA:-$PWD/.courier-dev/ca.pem}
  echo "sync server: $COURIER_SERVER (dev mailbox: $PWD/.courier-dev/mail/)"
fi
exec bin/courier "$@"
