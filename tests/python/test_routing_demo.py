"""The README's routing walkthrough, run as written: examples/routing-demo.yaml in front of
`strates sim serve`, driven by examples/routing_demo.py with the official SDKs, then the
routing report. Keeps the newcomer's path from rotting."""
import json
import os
import subprocess
import sys
from pathlib import Path

from conftest import Gateway, Process, strates_binary

ROOT = Path(__file__).resolve().parents[2]


def test_the_routing_walkthrough_runs_as_documented(tmp_path):
    sim = Process([strates_binary(), "sim", "serve", "--port", "0"], r"listening on http://[\d.]+:(\d+)")
    try:
        # The example as shipped, with the sim server on the port this run got.
        config = (ROOT / "examples" / "routing-demo.yaml").read_text().replace("127.0.0.1:7700", f"127.0.0.1:{sim.port}")
        gw = Gateway(tmp_path, config)
        try:
            env = dict(os.environ, STRATES_URL=gw.url, STRATES_KEY=gw.key, STRATES_ADMIN_KEY=gw.admin_key)
            run = subprocess.run([sys.executable, str(ROOT / "examples" / "routing_demo.py")], env=env,
                                 capture_output=True, text=True, timeout=120)
            assert run.returncode == 0, run.stderr[-3000:]
            out = run.stdout
            assert "200 from sim/gpt-4.1-mini after 1 fallback(s)" in out
            assert "claude/claude-sonnet-4-5: finish tool_calls, tool call read_file" in out
            assert "streamed: finish tool_calls" in out and "(valid JSON: True)" in out
            assert "stop tool_use, tool_use read_file" in out and "stop end_turn" in out
            assert "auto → smart: no cheaper tier has shown 80% success on chat/low" in out
            assert out.count("auto → fast (sim/gpt-4.1-mini): cheapest tier meeting 80% on chat/low: 100% over 3") == 2
            assert "with tools (agentic/medium, no scores yet) → smart" in out

            gw.wait_rows(1, "auto_tier = 'fast'")
            report = json.loads(gw.cli("report", "routing", "--since", "1d", "--format", "json").stdout)
            routes = {line["route"]: line for line in report["routes"]}
            assert routes["fast"]["fell_back"] >= 1 and routes["fast"]["errors"] == 0
            assert routes["fast"]["fallbacks"][0]["failed_attempts"] == "flaky/gpt-4.1-mini: 503"
            assert float(routes["strates/auto"]["savings_vs_requested_usd"]) > 0
            crossed = gw.rows("provider IN ('claude', 'gpt') AND requested_model != 'strates/auto' AND requested_model != 'smart'")
            assert {(r["api"], r["provider"]) for r in crossed} == {("chat_completions", "claude"), ("messages", "gpt")}
            assert all(r["status"] == "completed" and r["usage_estimated"] == 0 for r in crossed)
        finally:
            gw.stop()
    finally:
        sim.stop()
