#!/usr/bin/env bash
# Runs every Strates test: the Swift suites, then the live tests that drive `strates`
# with the official OpenAI and Anthropic Python SDKs. Installs what they need first.
# Exit status: 0 when everything passed, non-zero when anything failed.
set -euo pipefail
cd "$(dirname "$0")/.."

source scripts/lib/system-deps.sh

echo "==> swift format lint (.swift-format)"
format_status=0
swift format lint --strict --recursive --parallel Sources Tests Package.swift || format_status=$?

echo "==> building (debug, with tests)"
swift build --build-tests

echo "==> Swift tests"
swift_status=0
swift test --skip-build || swift_status=$?

echo "==> Python environment for the SDK tests (.venv)"
if [ ! -x .venv/bin/python ]; then python3 -m venv .venv; fi
.venv/bin/pip install --quiet --disable-pip-version-check -r tests/python/requirements.txt

echo "==> live tests with the official SDKs"
python_status=0
STRATES_BIN="$PWD/.build/debug/strates" .venv/bin/python -m pytest tests/python -q -p no:cacheprovider -W ignore::DeprecationWarning || python_status=$?
if [ "$python_status" = 5 ]; then
    echo "pytest collected no tests: the live suite is missing" >&2
fi

if [ "$format_status" != 0 ] || [ "$swift_status" != 0 ] || [ "$python_status" != 0 ]; then
    echo "FAILED: swift format lint exited $format_status, swift test exited $swift_status, pytest exited $python_status" >&2
    exit 1
fi
echo "All tests passed."
