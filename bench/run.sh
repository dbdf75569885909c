#!/usr/bin/env bash
# The benchmark command: builds Strates and its load generator in release mode, then runs
# bench/run.py (the upstream directly, Strates and LiteLLM side by side, the ledger check,
# 1,000 open streams, kill -9 under load). Arguments go to bench/run.py; see --help.
#
#   bench/run.sh                  # full run, about 15 minutes on 2 cores
#   bench/run.sh --write-md       # ... and write the results into BENCHMARKS.md
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/system-deps.sh
swift build -c release --product strates >&2
swift build -c release --product strates-load >&2
exec python3 bench/run.py --bin-dir "$PWD/.build/release" "$@"
