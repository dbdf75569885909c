#!/usr/bin/env bash
# Builds Strates in release mode (installing the SQLite headers if missing) and runs
# `strates serve` with any arguments given. With no provider keys in the environment it
# serves every model from the built-in simulated provider, on ./strates.db.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/system-deps.sh
swift build -c release --product strates >&2
exec .build/release/strates serve "$@"
