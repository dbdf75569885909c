#!/usr/bin/env bash
# Quick overhead check: the same small OpenAI chat request, sent straight to the simulated
# upstream and through Strates (auth, metering, journal and ledger on), measured in one run
# with wrk on loopback. Prints req/s and latency for both and the ratios. Not the full
# benchmark (that is bench/ in the benchmarks issue): no LiteLLM, no streams, small prompts.
#
#   bench/quick-overhead.sh [seconds-per-run] [--litellm]     (default 5 s)
#
# --litellm also runs the LiteLLM proxy (pinned, in its own venv under bench/.venv-litellm,
# one worker, no database, LITELLM_LOCAL_MODEL_COST_MAP=True, master key on) in front of
# the same upstream, and reports Strates : LiteLLM.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/system-deps.sh
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
duration="${1:-5}"
with_litellm=false
[ "${2:-}" = "--litellm" ] && with_litellm=true
litellm_version="1.106.2"
if $with_litellm && [ ! -x bench/.venv-litellm/bin/litellm ]; then
    python3 -m venv bench/.venv-litellm
    bench/.venv-litellm/bin/pip install --quiet --disable-pip-version-check "litellm[proxy]==$litellm_version"
fi
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
strates_pid=$!
wait_port "$work/strates.log"; gateway_port=$(port_of "$work/strates.log")
cat > "$work/post.lua" <<LUA
wrk.method = "POST"
wrk.body = '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hello there"}]}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $key"
LUA

targets="direct strates"
if $with_litellm; then
    cat > "$work/litellm.yaml" <<YAML
model_list:
  - model_name: gpt-4o-mini
    litellm_params: {model: openai/gpt-4o-mini, api_base: "http://127.0.0.1:$sim_port/v1", api_key: sk-upstream}
general_settings: {master_key: sk-litellm-bench}
YAML
    litellm_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    LITELLM_LOCAL_MODEL_COST_MAP=True bench/.venv-litellm/bin/litellm --config "$work/litellm.yaml" --host 127.0.0.1 \
        --port "$litellm_port" --num_workers 1 > "$work/litellm.log" 2>&1 & pids+=($!)
    litellm_pid=$!
    for _ in $(seq 1 300); do curl -s "http://127.0.0.1:$litellm_port/health/liveliness" >/dev/null 2>&1 && break; sleep 0.2; done
    sed "s/Bearer $key/Bearer sk-litellm-bench/" "$work/post.lua" > "$work/post-litellm.lua"
    targets="direct strates litellm"
fi

run() {
    local script="$work/post.lua"
    [ "$3" = litellm ] && script="$work/post-litellm.lua"
    wrk -t1 -c"$1" -d"${duration}s" --latency -s "$script" "http://127.0.0.1:$2/v1/chat/completions"
}
port_for() { case "$1" in direct) echo "$sim_port" ;; strates) echo "$gateway_port" ;; litellm) echo "$litellm_port" ;; esac; }
pid_for() { case "$1" in strates) echo "$strates_pid" ;; litellm) echo "$litellm_pid" ;; *) echo "" ;; esac; }
# CPU time (user + system, in clock ticks) of a process and its children threads.
cpu_ticks() { [ -n "$1" ] && awk '{print $14 + $15}' "/proc/$1/stat" || echo 0; }
ticks_per_second=$(getconf CLK_TCK)
field() { awk -v k="$1" '$1==k {print $2}' | head -1; }
to_us() { awk '{v=$1; if (v ~ /us$/) {sub(/us/,"",v); print v} else if (v ~ /ms$/) {sub(/ms/,"",v); print v*1000} else {sub(/s$/,"",v); print v*1000000}}'; }

printf "%-6s %-8s %10s %10s %10s %14s\n" conc target "req/s" "p50 us" "p99 us" "cpu us/request"
for conc in 1 16; do
    for name in $targets; do
        before=$(cpu_ticks "$(pid_for "$name")")
        out=$(run "$conc" "$(port_for "$name")" "$name")
        after=$(cpu_ticks "$(pid_for "$name")")
        rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
        total=$(echo "$out" | awk '/requests in/ {print $1}')
        p50=$(echo "$out" | field "50%" | to_us); p99=$(echo "$out" | field "99%" | to_us)
        cpu=$(awk -v t="$((after - before))" -v n="$total" -v hz="$ticks_per_second" 'BEGIN { if (n > 0 && t > 0) printf "%.0f", t / hz * 1000000 / n; else print "-" }')
        printf "%-6s %-8s %10s %10s %10s %14s\n" "$conc" "$name" "$rps" "$p50" "$p99" "$cpu"
        eval "${name}_rps=$rps ${name}_p50=$p50 ${name}_p99=$p99 ${name}_cpu=$cpu"
    done
    awk -v a="$direct_rps" -v b="$strates_rps" -v p="$direct_p50" -v q="$strates_p50" -v r="$direct_p99" -v s="$strates_p99" -v c="$conc" \
        'BEGIN { printf "c=%s: throughput ratio strates/direct %.2f, added p50 %.0f us, added p99 %.0f us\n", c, b/a, q-p, s-r }'
    if $with_litellm; then
        awk -v a="$litellm_rps" -v b="$strates_rps" -v p="$direct_p50" -v q="$strates_p50" -v l="$litellm_p50" -v c="$conc" \
            'BEGIN { printf "c=%s: Strates : LiteLLM throughput %.1f : 1, added p50 %.0f us vs %.0f us\n", c, b/a, q-p, l-p }'
        awk -v s="$strates_cpu" -v l="$litellm_cpu" -v c="$conc" 'BEGIN { printf "c=%s: CPU per request, LiteLLM : Strates %.1f : 1\n", c, l/s }'
    fi
done
sleep 0.5
served=$("$bin" usage --format json --config "$work/strates.yaml" --database "$work/ledger.db" | python3 -c 'import json,sys; print(json.load(sys.stdin)["total"]["requests"])')
echo "ledger: $served requests recorded"
