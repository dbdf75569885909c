#!/usr/bin/env bash
# Builds Strates in release mode (installing the SQLite headers if missing) and runs
# `strates serve` with any arguments given. With no provider keys in the environment it
# serves every model from the built-in simulated provider, on ./strates.db.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
if [ ! -f /usr/include/sqlite3.h ]; then
    echo "==> installing libsqlite3-dev (the ledger's SQLite headers)"
    if [ "$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq libsqlite3-dev; else sudo apt-get update -qq && sudo apt-get install -y -qq libsqlite3-dev; fi
fi
swift build -c release --product strates >&2
exec .build/release/strates serve "$@"
