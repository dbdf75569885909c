#!/usr/bin/env bash
# Quick overhead check: the same small OpenAI chat request, sent straight to the simulated
# upstream and through Strates (auth, metering, journal and ledger on), measured in one run
# with wrk on loopback. Prints req/s and latency for both and the ratios. Not the full
# benchmark (that is bench/ in the benchmarks issue): no LiteLLM, no streams, small prompts.
#
#   bench/quick-overhead.sh [seconds-per-run]     (default 5)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/system-deps.sh
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
duration="${1:-5}"
swift build -c release --product strates >&2
bin="$PWD/.build/release/strates"
work="$(mktemp -d)"
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

wait_port() { for _ in $(seq 1 100); do grep -oE 'listening on http://[0-9.]+:[0-9]+' "$1" >/dev/null 2>&1 && return; sleep 0.1; done; echo "did not start: $1" >&2; exit 1; }
port_of() { grep -oE 'listening on http://[0-9.]+:[0-9]+' "$1" | head -1 | grep -oE '[0-9]+$'; }

"$bin" sim serve --port 0 --output-tokens-min 20 --output-tokens-max 20 > "$work/sim.log" 2>&1 & pids+=($!)
wait_port "$work/sim.log"; sim_port=$(port_of "$work/sim.log")
cat > "$work/strates.yaml" <<YAML
log_level: warning
providers:
  upstream: {kind: openai_compatible, base_url: "http://127.0.0.1:$sim_port/v1"}
models:
  - {name: "*", provider: upstream}
YAML
key=$("$bin" keys create --member bench --quiet --config "$work/strates.yaml" --database "$work/ledger.db")
"$bin" serve --config "$work/strates.yaml" --database "$work/ledger.db" --port 0 > "$work/strates.log" 2>&1 & pids+=($!)
wait_port "$work/strates.log"; gateway_port=$(port_of "$work/strates.log")
cat > "$work/post.lua" <<LUA
wrk.method = "POST"
wrk.body = '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hello there"}]}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $key"
LUA

run() { wrk -t1 -c"$1" -d"${duration}s" --latency -s "$work/post.lua" "http://127.0.0.1:$2/v1/chat/completions"; }
field() { awk -v k="$1" '$1==k {print $2}' | head -1; }
to_us() { awk '{v=$1; if (v ~ /us$/) {sub(/us/,"",v); print v} else if (v ~ /ms$/) {sub(/ms/,"",v); print v*1000} else {sub(/s$/,"",v); print v*1000000}}'; }

printf "%-6s %-8s %10s %10s %10s\n" conc target "req/s" "p50 us" "p99 us"
for conc in 1 16; do
    direct=$(run "$conc" "$sim_port"); through=$(run "$conc" "$gateway_port")
    for name in direct strates; do
        out=$([ "$name" = direct ] && echo "$direct" || echo "$through")
        rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
        p50=$(echo "$out" | field "50%" | to_us); p99=$(echo "$out" | field "99%" | to_us)
        printf "%-6s %-8s %10s %10s %10s\n" "$conc" "$name" "$rps" "$p50" "$p99"
        eval "${name}_rps=$rps ${name}_p50=$p50 ${name}_p99=$p99"
    done
    awk -v a="$direct_rps" -v b="$strates_rps" -v p="$direct_p50" -v q="$strates_p50" -v r="$direct_p99" -v s="$strates_p99" -v c="$conc" \
        'BEGIN { printf "c=%s: throughput ratio strates/direct %.2f, added p50 %.0f us, added p99 %.0f us\n", c, b/a, q-p, s-r }'
done
sleep 0.5
served=$("$bin" usage --format json --config "$work/strates.yaml" --database "$work/ledger.db" | python3 -c 'import json,sys; print(json.load(sys.stdin)["total"]["requests"])')
echo "ledger: $served requests recorded"
