#!/bin/sh
# Runs a command with a real, unlocked Secret Service: gnome-keyring on a
# private D-Bus session, its files in a temporary directory.
set -eu
tmp=$(mktemp -d "${TMPDIR:-/tmp}/courier-keyring.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
mkdir -m 700 "$tmp/data" "$tmp/run"
export XDG_DATA_HOME="$tmp/data" XDG_RUNTIME_DIR="$tmp/run"
dbus-run-session -- sh -c '
  echo -n "courier-test" | gnome-keyring-daemon --unlock --components=secrets >/dev/null
  exec "$@"
' sh "$@"
