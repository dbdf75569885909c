"""The analytics benchmark in its smoke mode, so it cannot rot: a small generated Claude Code
history imported twice, and every timed report run over a small generated ledger. No speed
targets here; the checks are the harness's own (every response imported once, nothing added
the second time, the usage report counts every request) plus the shape of its results."""
import json
import subprocess
import sys

from conftest import ROOT, strates_binary


def test_analytics_bench_smoke(tmp_path):
    out = tmp_path / "analytics.json"
    result = subprocess.run([sys.executable, str(ROOT / "bench" / "analytics.py"), "--smoke", "--bin", strates_binary(),
                             "--work-dir", str(tmp_path / "work"), "--out", str(out)], capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, f"analytics smoke failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    results = json.loads(out.read_text())
    imported = results["import"]
    assert imported["added"] == imported["records"] == 3_000
    assert imported["duplicates_folded"] > 0
    assert imported["problems"] == []
    # SQLite alone copying the imported rows, into the schema and into the bare table.
    assert imported["skip_seconds"] > 0 and imported["again_seconds"] > 0
    assert set(imported["floor"]) == {"row_by_row", "bulk"}
    assert all(seconds >= 0 for seconds in imported["floor"].values())
    reports = results["reports"]
    assert reports["requests"] == 30_000
    assert "30000 request(s)" in reports["rebuild_output"]
    names = {row["report"] for row in reports["reports"]}
    assert {"report workloads --since 30d", "report outcomes --since 30d", "report forecast", "report anomalies --since 30d"} <= names
    assert all(row["median_seconds"] > 0 for row in reports["reports"])
    assert reports["problems"] == []
    assert "| `strates report workloads --since 30d` |" in result.stderr
