#!/usr/bin/env python3
"""The Strates benchmark harness: the upstream directly, through Strates and through
LiteLLM, side by side in one run, on loopback only.

    bench/run.sh                 # full run, release build (about 15 minutes)
    bench/run.sh --write-md      # ... and write the results into BENCHMARKS.md
    bench/run.py --smoke --bin-dir .build/debug   # a few seconds per phase, no speed targets

Phases: (1) load: four request shapes (OpenAI chat and Anthropic messages, streamed and
not) with small and coding-agent-sized (~400 KB, ~100,000-token) prompts at several
concurrencies, against each target; (2) the ledger check: Strates recorded every request
the upstream served for it, with the same tokens; (3) 1,000 open streams from a slow
upstream, Strates' memory watched; (4) crash: kill -9 under paced mixed load, restart,
reconcile against the upstream's own list. Every process is started here and stopped by
its PID at the end. Results go to bench/results/ as JSON (and into BENCHMARKS.md with
--write-md)."""
import argparse
import datetime
import json
import os
import platform
import resource
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import procs  # noqa: E402
import report  # noqa: E402
from procs import Service  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
LITELLM_VERSION = "1.106.2"
LITELLM_VENV = ROOT / "bench" / ".venv-litellm"
OUTPUT_TOKENS = 20

# name, path, model, stream, first-token marker (opens the first text delta)
SCENARIOS = [
    ("openai-chat", "/v1/chat/completions", "gpt-4o-mini", False, None),
    ("openai-chat-stream", "/v1/chat/completions", "gpt-4o-mini", True, '"content":"'),
    ("anthropic-messages", "/v1/messages", "claude-haiku-4-5", False, None),
    ("anthropic-messages-stream", "/v1/messages", "claude-haiku-4-5", True, '"text_delta","text":"'),
]


def coding_agent_prompt(target_bytes=400_000):
    """Source-code-like text, about four bytes per token, like a coding agent's context."""
    lines, size, index = [], 0, 0
    while size < target_bytes:
        line = (f"    func step{index}(_ value: Int) -> Int {{ return value &* {index % 97} &+ {index * 7 % 1000} }}"
                f"  // Sources/Module{index % 40}/File{index % 300}.swift\n")
        lines.append(line)
        size += len(line)
        index += 1
    return "".join(lines)[:target_bytes]


def request_body(scenario, prompt):
    name, _, model, stream, _ = scenario
    system = coding_agent_prompt() if prompt == "large" else "You are a helpful assistant."
    user = "Continue the refactoring." if prompt == "large" else "hello there"
    if name.startswith("openai"):
        body = {"model": model, "messages": [{"role": "system", "content": system}, {"role": "user", "content": user}]}
    else:
        body = {"model": model, "max_tokens": 256, "system": system, "messages": [{"role": "user", "content": user}]}
    if stream:
        body["stream"] = True
    return json.dumps(body).encode()


class Harness:
    def __init__(self, args):
        self.args = args
        self.bin = Path(args.bin_dir).resolve()
        self.work = Path(tempfile.mkdtemp(prefix="strates-bench-"))
        self.results = {"rows": [], "phases": {}}

    # ---- processes -------------------------------------------------------------------

    def start_sim(self, name, *extra):
        return Service(name, [str(self.bin / "strates"), "sim", "serve", "--port", "0", *extra],
                       self.work / f"{name}.log", pattern=r"listening on http://[\d.]+:(\d+)")

    def strates_config(self, name, upstream_port, flush_ms=200):
        path = self.work / f"{name}.yaml"
        path.write_text(f"""
log_level: warning
server: {{max_body_bytes: 8000000}}
ledger: {{flush_interval_ms: {flush_ms}}}
providers:
  upstream_openai: {{kind: openai_compatible, base_url: "http://127.0.0.1:{upstream_port}/v1"}}
  upstream_anthropic: {{kind: anthropic, base_url: "http://127.0.0.1:{upstream_port}/v1", api_key_env: BENCH_ANTHROPIC_KEY}}
models:
  - {{name: "gpt-*", provider: upstream_openai}}
  - {{name: "claude-*", provider: upstream_anthropic}}
""")
        return path

    def strates_env(self):
        return dict(os.environ, BENCH_ANTHROPIC_KEY="sk-bench-upstream")

    def create_key(self, config, database):
        result = subprocess.run(
            [str(self.bin / "strates"), "keys", "create", "--member", "bench", "--team", "perf", "--quiet",
             "--config", str(config), "--database", str(database)],
            capture_output=True, text=True, env=self.strates_env(), check=True)
        # Governance on, as users run it: a hard budget covers the key, so every request is
        # reserved against it and settled. In tokens, so it holds whatever the upstream's
        # price; far above what a run uses, so it never refuses.
        if self.args.no_budget:
            return result.stdout.strip()
        subprocess.run(
            [str(self.bin / "strates"), "budgets", "set", "bench-perf", "--scope", "team:perf", "--period", "month",
             "--limit-tokens", "1000000000000", "--hard", "--config", str(config), "--database", str(database)],
            capture_output=True, text=True, env=self.strates_env(), check=True)
        return result.stdout.strip()

    def start_strates(self, name, config, database):
        return Service(name, [str(self.bin / "strates"), "serve", "--config", str(config), "--database", str(database),
                              "--port", "0"],
                       self.work / f"{name}.log", pattern=r"listening on http://[\d.]+:(\d+)", env=self.strates_env())

    def start_litellm(self, upstream_port):
        ensure_litellm()
        config = self.work / "litellm.yaml"
        config.write_text(f"""
model_list:
  - model_name: gpt-4o-mini
    litellm_params: {{model: openai/gpt-4o-mini, api_base: "http://127.0.0.1:{upstream_port}/v1", api_key: sk-bench-upstream}}
  - model_name: claude-haiku-4-5
    litellm_params: {{model: anthropic/claude-haiku-4-5, api_base: "http://127.0.0.1:{upstream_port}", api_key: sk-bench-upstream}}
general_settings: {{master_key: sk-litellm-bench}}
""")
        port = procs.free_port()
        env = dict(os.environ, LITELLM_LOCAL_MODEL_COST_MAP="True", LITELLM_LOG="ERROR")
        service = Service("litellm", [str(LITELLM_VENV / "bin" / "litellm"), "--config", str(config), "--host", "127.0.0.1",
                                      "--port", str(port), "--num_workers", "1"],
                          self.work / "litellm.log", health_url=f"http://127.0.0.1:{port}/health/liveliness", env=env,
                          timeout=180)
        service.port = port
        return service

    # ---- load ------------------------------------------------------------------------

    def load(self, url, body_path, headers, concurrency, duration, warmup, marker=None, requests=None, rate=None,
             timeout=60):
        argv = [str(self.bin / "strates-load"), "--url", url, "--body", str(body_path), "--concurrency", str(concurrency),
                "--duration", str(duration), "--warmup", str(warmup), "--timeout", str(timeout)]
        for name, value in headers.items():
            argv += ["--header", f"{name}: {value}"]
        if marker:
            argv += ["--first-token-marker", marker]
        if requests:
            argv += ["--requests", str(requests)]
        if rate:
            argv += ["--rate", str(rate)]
        result = subprocess.run(argv, capture_output=True, text=True, timeout=duration + warmup + timeout + 120)
        if result.returncode != 0:
            raise RuntimeError(f"strates-load failed ({result.returncode}): {result.stderr}")
        return json.loads(result.stdout)

    def measured(self, target_name, service, url, body_path, headers, concurrency, marker):
        """One load run against one target, with the proxy's CPU time and peak memory."""
        pid = service.pid if service else None
        if pid:
            procs.reset_peak_rss(pid)
            cpu_before = procs.cpu_seconds(pid)
        result = self.load(url, body_path, headers, concurrency, self.args.duration, self.args.warmup, marker)
        if pid:
            cpu = procs.cpu_seconds(pid) - cpu_before
            handled = result["succeeded_total"] + result["errors"]
            result["cpu_us_per_request"] = cpu * 1e6 / handled if handled else None
            result["peak_rss_mb"] = procs.peak_rss_mb(pid)
        result["target"] = target_name
        return result

    # ---- phases ----------------------------------------------------------------------

    def phase_load(self):
        args = self.args
        sim = self.start_sim("sim", "--output-tokens-min", str(OUTPUT_TOKENS), "--output-tokens-max", str(OUTPUT_TOKENS))
        config = self.strates_config("strates", sim.port)
        database = self.work / "ledger.db"
        key = self.create_key(config, database)
        strates = self.start_strates("strates", config, database)
        litellm = None if args.no_litellm else self.start_litellm(sim.port)
        targets = [("direct", None, sim.port, {})]
        targets.append(("strates", strates, strates.port, {"authorization": f"Bearer {key}"}))
        if litellm:
            targets.append(("litellm", litellm, litellm.port, {"authorization": "Bearer sk-litellm-bench"}))
        self.results["strates_idle_rss_mb"] = procs.rss_mb(strates.pid)
        through_strates = 0
        for prompt in args.prompts:
            for scenario in SCENARIOS:
                name, path, _, stream, marker = scenario
                body_path = self.work / f"{name}-{prompt}.json"
                body_path.write_bytes(request_body(scenario, prompt))
                base_headers = {"anthropic-version": "2023-06-01"} if name.startswith("anthropic") else {}
                concurrencies = args.concurrency if prompt == "small" else args.large_concurrency
                for target_name, service, port, headers in targets:
                    # One unmeasured call first: a proxy's first call of a model can take a
                    # second (LiteLLM's does), which would swallow a short measured run.
                    prime = self.load(f"http://127.0.0.1:{port}{path}", body_path, {**base_headers, **headers}, 1, 0, 0,
                                      requests=1)
                    if target_name == "strates":
                        through_strates += prime["succeeded_total"] + prime["errors"]
                for concurrency in concurrencies:
                    for target_name, service, port, headers in targets:
                        row = self.measured(target_name, service, f"http://127.0.0.1:{port}{path}", body_path,
                                            {**base_headers, **headers}, concurrency, marker)
                        row.update(scenario=name, prompt=prompt, stream=stream, body_bytes=body_path.stat().st_size)
                        if target_name == "strates":
                            through_strates += row["succeeded_total"] + row["errors"]
                        self.results["rows"].append(row)
                        print(report.row_line(row), flush=True)
                    if not strates.alive():
                        raise RuntimeError("Strates died during the load phase:\n" + strates.tail())
        self.results["phases"]["ledger"] = self.ledger_check(sim, database, through_strates)
        self.results["strates_final_rss_mb"] = procs.rss_mb(strates.pid)
        for service in (litellm, strates, sim):
            if service:
                service.stop()

    def served_by_upstream(self, sim):
        with urllib.request.urlopen(f"http://127.0.0.1:{sim.port}/sim/served", timeout=120) as response:
            records = json.loads(response.read())
        # Strates sends its request id upstream; direct and LiteLLM calls carry none.
        return {r["requestID"]: r for r in records if r["requestID"].startswith("req_")}

    def ledger_rows(self, database, timeout=15, expect=None):
        deadline = time.time() + timeout
        while True:
            connection = sqlite3.connect(str(database), timeout=30)
            connection.row_factory = sqlite3.Row
            try:
                rows = {r["id"]: dict(r) for r in connection.execute(
                    "SELECT id, status, input_tokens, output_tokens, cache_read_tokens, cache_write_5m_tokens, "
                    "cache_write_1h_tokens, usage_estimated FROM requests")}
            finally:
                connection.close()
            if expect is None or len(rows) >= expect or time.time() > deadline:
                return rows
            time.sleep(0.2)

    def ledger_check(self, sim, database, sent):
        """Every request Strates handled is in its ledger once, with the upstream's own tokens."""
        served = self.served_by_upstream(sim)
        rows = self.ledger_rows(database, expect=sent)
        missing = [i for i in served if i not in rows]
        token_mismatches = 0
        for request_id, record in served.items():
            row = rows.get(request_id)
            usage = record["usage"]
            if row and (row["input_tokens"], row["output_tokens"], row["cache_read_tokens"], row["cache_write_5m_tokens"],
                        row["cache_write_1h_tokens"]) != (usage["input"], usage["output"], usage["cacheRead"],
                                                          usage["cacheWrite5m"], usage["cacheWrite1h"]):
                token_mismatches += 1
        tokens_upstream = sum(r["usage"]["input"] + r["usage"]["cacheRead"] + r["usage"]["output"] for r in served.values())
        tokens_ledger = sum(rows[i]["input_tokens"] + rows[i]["cache_read_tokens"] + rows[i]["output_tokens"]
                            for i in served if i in rows)
        check = {
            "requests_sent_through_strates": sent, "ledger_rows": len(rows), "upstream_served": len(served),
            "missing_from_ledger": len(missing), "token_mismatches": token_mismatches,
            "tokens_upstream": tokens_upstream, "tokens_ledger": tokens_ledger,
            "complete": not missing and token_mismatches == 0 and len(rows) == sent,
        }
        print(f"ledger check: {json.dumps(check)}", flush=True)
        return check

    def phase_open_streams(self):
        """Many concurrent streams from a slow upstream through a fresh Strates."""
        args = self.args
        count = args.open_streams
        seconds = args.stream_seconds
        tokens_per_second = max(1, OUTPUT_TOKENS * 5 // seconds)
        sim = self.start_sim("slow-sim", "--tokens-per-second", str(tokens_per_second), "--output-tokens-min",
                             str(OUTPUT_TOKENS * 5), "--output-tokens-max", str(OUTPUT_TOKENS * 5))
        config = self.strates_config("strates-streams", sim.port)
        database = self.work / "streams.db"
        key = self.create_key(config, database)
        strates = self.start_strates("strates-streams", config, database)
        scenario = SCENARIOS[1]
        body_path = self.work / "open-streams.json"
        body_path.write_bytes(request_body(scenario, "small"))
        idle = procs.rss_mb(strates.pid)
        procs.reset_peak_rss(strates.pid)
        started = time.time()
        with procs.RSSSampler(strates.pid) as sampler:
            result = self.load(f"http://127.0.0.1:{strates.port}{scenario[1]}", body_path,
                               {"authorization": f"Bearer {key}"}, count, 0, 0, scenario[4], requests=count,
                               timeout=seconds * 6 + 30)
        rows = self.ledger_rows(database, expect=count)
        completed = sum(1 for r in rows.values() if r["status"] == "completed")
        phase = {
            "streams": count, "stream_seconds": seconds, "succeeded": result["succeeded_total"], "errors": result["errors"],
            "error_kinds": result["error_kinds"], "wall_seconds": round(time.time() - started, 2),
            "idle_rss_mb": round(idle, 1), "peak_rss_mb": round(max(sampler.peak, procs.peak_rss_mb(strates.pid)), 1),
            "latency_ms": result["latency_ms"], "first_token_ms": result.get("first_token_ms", {}),
            "ledger_completed": completed,
        }
        print(f"open streams: {json.dumps(phase)}", flush=True)
        self.results["phases"]["open_streams"] = phase
        strates.stop()
        sim.stop()

    def phase_crash(self):
        """kill -9 under paced mixed load, restart, reconcile with the upstream's own list."""
        args = self.args
        sim = self.start_sim("crash-sim", "--latency-ms", "5", "--tokens-per-second", "400",
                             "--output-tokens-min", "10", "--output-tokens-max", "30")
        config = self.strates_config("strates-crash", sim.port)
        database = self.work / "crash.db"
        key = self.create_key(config, database)
        strates = self.start_strates("strates-crash", config, database)
        loaders = []
        per_shape_rate = args.crash_rate / len(SCENARIOS)
        for scenario in SCENARIOS:
            name, path, _, _, marker = scenario
            body_path = self.work / f"crash-{name}.json"
            body_path.write_bytes(request_body(scenario, "small"))
            argv = [str(self.bin / "strates-load"), "--url", f"http://127.0.0.1:{strates.port}{path}", "--body",
                    str(body_path), "--concurrency", "32", "--duration", str(args.crash_seconds), "--rate",
                    str(per_shape_rate), "--timeout", "10", "--header", f"authorization: Bearer {key}",
                    "--header", "anthropic-version: 2023-06-01"]
            loaders.append(subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
        time.sleep(args.crash_seconds / 2)
        strates.stop(signal.SIGKILL)
        killed_at = time.time()
        outputs = [json.loads(p.communicate(timeout=args.crash_seconds + 60)[0]) for p in loaders]
        served = self.served_by_upstream(sim)
        restarted = self.start_strates("strates-crash-restart", config, database)
        rows = self.ledger_rows(database)
        missing = [i for i in served if i not in rows]
        interrupted = sum(1 for r in rows.values() if r["status"] == "interrupted")
        restarted.stop()
        again = self.start_strates("strates-crash-restart-2", config, database)
        rows_after_second_restart = len(self.ledger_rows(database))
        again.stop()
        sim.stop()
        phase = {
            "target_rate": args.crash_rate, "seconds_before_kill": args.crash_seconds / 2,
            "client_successes_before_kill": sum(o["succeeded_total"] for o in outputs),
            "upstream_served": len(served), "ledger_rows": len(rows), "missing_from_ledger": len(missing),
            "interrupted": interrupted, "rows_after_second_restart": rows_after_second_restart,
            "lost": len(missing), "duplicated": rows_after_second_restart - len(rows),
            "killed_at_unix": round(killed_at, 3),
        }
        print(f"crash: {json.dumps(phase)}", flush=True)
        self.results["phases"]["crash"] = phase

    def run(self):
        start = time.time()
        self.results["machine"] = machine()
        self.results["settings"] = {k: v for k, v in vars(self.args).items() if k not in ("write_md",)}
        self.results["started"] = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
        try:
            for phase in self.args.phases:
                getattr(self, f"phase_{phase}")()
        finally:
            Service.stop_all()
        self.results["seconds"] = round(time.time() - start, 1)
        self.results["targets"] = report.check_targets(self.results)
        return self.results


def ensure_litellm():
    litellm = LITELLM_VENV / "bin" / "litellm"
    if litellm.exists():
        return
    print(f"==> installing litellm[proxy]=={LITELLM_VERSION} into {LITELLM_VENV}", flush=True)
    subprocess.run([sys.executable, "-m", "venv", str(LITELLM_VENV)], check=True)
    subprocess.run([str(LITELLM_VENV / "bin" / "pip"), "install", "--quiet", "--disable-pip-version-check",
                    f"litellm[proxy]=={LITELLM_VERSION}"], check=True)


def machine():
    cpu = "unknown"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gib": round(memory, 1), "kernel": platform.release(),
            "litellm": LITELLM_VERSION}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bin-dir", default=str(ROOT / ".build" / "release"), help="where strates and strates-load are")
    parser.add_argument("--smoke", action="store_true", help="a few seconds per phase; no speed targets")
    parser.add_argument("--no-litellm", action="store_true", help="leave LiteLLM out")
    parser.add_argument("--duration", type=float, default=5, help="measured seconds per load run")
    parser.add_argument("--warmup", type=float, default=1)
    parser.add_argument("--concurrency", default="1,16,64,256")
    parser.add_argument("--large-concurrency", default=None, help="concurrencies for ~400 KB prompts (default: --concurrency)")
    parser.add_argument("--prompts", default="small,large")
    parser.add_argument("--open-streams", type=int, default=1000)
    parser.add_argument("--stream-seconds", type=int, default=10, help="how long each open stream lasts")
    parser.add_argument("--crash-rate", type=float, default=500, help="requests per second before the kill -9")
    parser.add_argument("--crash-seconds", type=float, default=12)
    parser.add_argument("--phases", default="load,open_streams,crash", help="which phases to run, in order")
    parser.add_argument("--no-budget", action="store_true", help="leave the budget off the key (to measure what checking it costs)")
    parser.add_argument("--json", help="also write the results here")
    parser.add_argument("--write-md", action="store_true", help="write the results into BENCHMARKS.md")
    args = parser.parse_args()
    if args.smoke:
        args.duration, args.warmup = 0.5, 0.2
        args.concurrency, args.large_concurrency = "1,4", "1"
        args.open_streams, args.stream_seconds = 50, 2
        args.crash_rate, args.crash_seconds = 100, 3
    args.concurrency = [int(c) for c in args.concurrency.split(",")]
    args.large_concurrency = [int(c) for c in args.large_concurrency.split(",")] if args.large_concurrency else args.concurrency
    args.prompts = args.prompts.split(",")
    args.phases = args.phases.split(",")
    # 1,000 streams need 1,000 client sockets, 1,000 in Strates and 1,000 upstream.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: (Service.stop_all(), sys.exit(130)))
    harness = Harness(args)
    results = harness.run()
    out_dir = ROOT / "bench" / "results"
    out_dir.mkdir(exist_ok=True)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    text = json.dumps(results, indent=1, sort_keys=True)
    (out_dir / f"{'smoke' if args.smoke else 'run'}-{stamp}.json").write_text(text)
    if args.json:
        Path(args.json).write_text(text)
    print(report.summary(results))
    if args.write_md and not args.smoke:
        report.write_benchmarks_md(ROOT / "BENCHMARKS.md", results)
        print("BENCHMARKS.md updated")
    problems = report.problems(results)
    if problems:
        print("FAILED:\n  " + "\n  ".join(problems) + f"\nlogs kept in {harness.work}", file=sys.stderr)
        return 1
    shutil.rmtree(harness.work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
