#!/usr/bin/env bash
# The analytics benchmark: builds Strates in release mode, then runs bench/analytics.py
# (1 million imported Claude Code records; every report over 10 million requests).
# Arguments go to bench/analytics.py; see --help.
#
#   bench/analytics.sh              # about 15 minutes on 2 cores, 4 GB of scratch disk
#   bench/analytics.sh --write-md   # ... and write the results into BENCHMARKS.md
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/system-deps.sh
swift build -c release --product strates >&2
exec python3 bench/analytics.py --bin "$PWD/.build/release/strates" "$@"
