#!/usr/bin/env python3
"""How far Strates is from the benchmarks issue's latency targets, and how far a relay can go
on this machine: the zero-latency upstream directly, through `bench/relay-probe` (a minimal
relay with a request's whole path on one event loop: key check, one keep-alive upstream
connection, a byte scan per chunk, an in-memory ledger row) and through Strates (governance
on: key, hard budget, metering, SQLite ledger), OpenAI chat requests at 1 and 16
connections: small ones streamed and not, and whole ones with the bench's ~400 KB coding
prompt (the probe copies such a body through without reading it: the floor of the CPU a
request of that size costs a relay here).

    bench/run.sh --no-litellm --phases load --duration 1      # builds strates and strates-load
    python3 bench/relay_probe.py [--duration 3]

The probe is not a product: it has no routing, budgets, attribution, journal or database.
Its added latency is the floor an event-loop relay reaches here; Strates' added latency
above it is the cost of Strates' layers (Hummingbird's and the HTTP client's async bridges)
and of its governance.
"""
import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from procs import Service, cpu_seconds  # noqa: E402
from run import coding_agent_prompt  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin-dir", default=str(ROOT / ".build" / "release"))
    parser.add_argument("--duration", type=float, default=3)
    parser.add_argument("--warmup", type=float, default=1)
    parser.add_argument("--probe-configuration", default="release", choices=["release", "debug"],
                        help="how to build the probe (the test suite's smoke run uses debug)")
    args = parser.parse_args()
    bin_dir = Path(args.bin_dir)
    package = ROOT / "bench" / "relay-probe"
    subprocess.run(["swift", "build", "-c", args.probe_configuration, "--package-path", str(package)], check=True, stdout=subprocess.DEVNULL)
    probe_bin = package / ".build" / args.probe_configuration / "relay-probe"
    work = Path(tempfile.mkdtemp(prefix="strates-probe-"))
    listening = r"listening on http://[\d.]+:(\d+)"
    try:
        sim = Service("sim", [str(bin_dir / "strates"), "sim", "serve", "--port", "0", "--output-tokens-min", "20",
                              "--output-tokens-max", "20"], work / "sim.log", pattern=listening)
        probe = Service("probe", [str(probe_bin), str(sim.port)], work / "probe.log", pattern=listening)
        config = work / "strates.yaml"
        config.write_text(f"""
log_level: warning
ledger: {{flush_interval_ms: 200}}
providers:
  upstream: {{kind: openai_compatible, base_url: "http://127.0.0.1:{sim.port}/v1"}}
models:
  - {{name: "gpt-*", provider: upstream}}
""")
        database = work / "ledger.db"
        cli = [str(bin_dir / "strates")]
        key = subprocess.run(cli + ["keys", "create", "--member", "bench", "--team", "perf", "--quiet", "--config", str(config),
                                    "--database", str(database)], capture_output=True, text=True, check=True).stdout.strip()
        subprocess.run(cli + ["budgets", "set", "probe", "--scope", "team:perf", "--period", "month", "--limit-tokens", "1000000000000",
                              "--hard", "--config", str(config), "--database", str(database)], capture_output=True, check=True)
        strates = Service("strates", cli + ["serve", "--config", str(config), "--database", str(database), "--port", "0"],
                          work / "strates.log", pattern=listening)
        bodies = {}
        for shape, stream in (("chat", False), ("chat-stream", True), ("chat-large", False)):
            body = {"model": "gpt-4o", "max_tokens": 100, "messages": [{"role": "user", "content": "Plan the next step."}]}
            if shape == "chat-large":
                body["messages"].insert(0, {"role": "system", "content": coding_agent_prompt()})
            if stream:
                body.update(stream=True, stream_options={"include_usage": True})
            bodies[shape] = work / f"{shape}.json"
            bodies[shape].write_text(json.dumps(body))
        targets = [("direct", sim, "none"), ("probe", probe, "probe-key"), ("strates", strates, key)]
        print("| shape | c | target | req/s | p50 ms | p99 ms | TTFT p50 ms | TTFT p99 ms | added p50 ms | added TTFT p99 ms | CPU µs/req |")
        print("| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        for concurrency in (1, 16):
            for shape, body in bodies.items():
                direct = None
                for name, service, token in targets:
                    before = cpu_seconds(service.pid)
                    out = subprocess.run([str(bin_dir / "strates-load"), "--url", f"http://127.0.0.1:{service.port}/v1/chat/completions",
                                          "--body", str(body), "--header", f"authorization: Bearer {token}", "--header",
                                          "content-type: application/json", "--concurrency", str(concurrency), "--duration",
                                          str(args.duration), "--warmup", str(args.warmup), "--first-token-marker", '"content":"'],
                                         capture_output=True, text=True, check=True).stdout
                    spent = cpu_seconds(service.pid) - before
                    result = json.loads(out)
                    latency, first = result["latency_ms"], result["first_token_ms"]
                    total = result["succeeded_total"] + result.get("warmup_requests", 0)
                    if result["errors"]:
                        raise SystemExit(f"{name} {shape}: {result['errors']} errors {result.get('error_kinds')}")
                    if direct is None:
                        direct = (latency["p50"], first["p99"])
                    added = "" if name == "direct" else f"{latency['p50'] - direct[0]:.3f}"
                    added_first = "" if name == "direct" else f"{first['p99'] - direct[1]:.3f}"
                    cpu = "" if name == "direct" else f"{spent / max(total, 1) * 1e6:.0f}"
                    print(f"| {shape} | {concurrency} | {name} | {result['requests_per_second']:,.0f} | {latency['p50']:.3f} | "
                          f"{latency['p99']:.3f} | {first['p50']:.3f} | {first['p99']:.3f} | {added} | {added_first} | {cpu} |", flush=True)
    finally:
        Service.stop_all()


if __name__ == "__main__":
    main()
