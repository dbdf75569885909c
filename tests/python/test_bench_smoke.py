"""The benchmark harness in its smoke mode, so it cannot rot: every phase runs for a few
seconds (no speed targets), against the upstream, Strates and LiteLLM, and the run must
lose nothing."""
import json
import subprocess
import sys
from pathlib import Path

from conftest import ROOT, strates_binary

SHAPES = {"openai-chat", "openai-chat-stream", "anthropic-messages", "anthropic-messages-stream"}


def test_bench_smoke_runs_every_phase(tmp_path):
    out = tmp_path / "smoke.json"
    bin_dir = Path(strates_binary()).parent
    assert (bin_dir / "strates-load").exists(), "the load generator is not built (swift build builds every product)"
    result = subprocess.run([sys.executable, str(ROOT / "bench" / "run.py"), "--smoke", "--bin-dir", str(bin_dir),
                             "--json", str(out)], capture_output=True, text=True, timeout=1200)
    assert result.returncode == 0, f"bench smoke failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    results = json.loads(out.read_text())

    rows = results["rows"]
    seen = {(r["scenario"], r["target"], r["prompt"]) for r in rows}
    for shape in SHAPES:
        for target in ("direct", "strates", "litellm"):
            for prompt in ("small", "large"):
                assert (shape, target, prompt) in seen, f"no run for {shape} via {target} with a {prompt} prompt"
    for row in rows:
        assert row["requests"] > 0, row
        assert row["latency_ms"]["p50"] > 0
        if row["stream"]:
            assert row.get("first_token_ms", {}).get("p50", 0) > 0, f"no time to first token for {row['scenario']} via {row['target']}"
            assert row["first_token_ms"]["p50"] <= row["latency_ms"]["p50"]
        if row["target"] != "direct":
            assert row["cpu_us_per_request"] and row["cpu_us_per_request"] > 0
            assert row["peak_rss_mb"] > 0
        if row["prompt"] == "large":
            assert row["body_bytes"] >= 400_000

    ledger = results["phases"]["ledger"]
    assert ledger["complete"], ledger
    assert ledger["upstream_served"] == ledger["requests_sent_through_strates"] > 0
    streams = results["phases"]["open_streams"]
    assert streams["succeeded"] == streams["streams"] and streams["errors"] == 0, streams
    crash = results["phases"]["crash"]
    assert crash["upstream_served"] > 0 and crash["lost"] == 0 and crash["duplicated"] == 0, crash
    targets = {t["target"] for t in results["targets"]}
    assert {"throughput_ratio", "cpu_ratio", "added_p50_ms", "added_ttft_p99_ms", "open_streams_rss_mb"} <= targets


def test_the_relay_probe_runs_and_relays_every_shape():
    # bench/relay_probe.py, briefly: the probe builds, relays chat, streams and the ~400 KB
    # prompt, and reports CPU per request for it and for Strates.
    bin_dir = Path(strates_binary()).parent
    result = subprocess.run([sys.executable, str(ROOT / "bench" / "relay_probe.py"), "--bin-dir", str(bin_dir), "--duration", "0.3",
                             "--warmup", "0", "--probe-configuration", "debug"], capture_output=True, text=True, timeout=1200)
    assert result.returncode == 0, f"relay probe failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    rows = [line.split("|")[1:-1] for line in result.stdout.splitlines() if line.startswith("| chat")]
    # Three shapes (chat, chat-stream, chat-large), at 1 and 16 connections, three targets each.
    assert len(rows) == 18, result.stdout
    assert {row[0].strip() for row in rows} == {"chat", "chat-stream", "chat-large"}, result.stdout
    cpu = {"probe": [], "strates": []}
    for shape, concurrency, target, rate, *rest in (map(str.strip, row) for row in rows):
        assert float(rate.replace(",", "")) > 0, (shape, concurrency, target)
        if target != "direct":
            cpu[target].append(int(rest[-1]))
    # CPU time is read from /proc in 10 ms ticks: a 0.3 s run of a few large requests can
    # read 0, but a proxy whose every row reads 0 is not being measured.
    for target, readings in cpu.items():
        assert len(readings) == 6 and min(readings) >= 0 and max(readings) > 0, (target, readings)
