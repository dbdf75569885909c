"""`strates import claude-code` from the command line, against the live gateway's ledger:
the fixture transcripts (written to Claude Code's published line format, with its duplicate
lines, partial stream counts, error lines and subagent files) imported once, then again
with nothing added; what was imported shows in the usage API like gateway traffic."""
import csv
from datetime import datetime, timedelta, timezone
import io
import json
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest

from conftest import Gateway, api, chat, member_key, run_cli, sim_control_config, strates_binary

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "claude-code"
CODEX = Path(__file__).resolve().parents[1] / "fixtures" / "codex"


@pytest.fixture(scope="module")
def gw(tmp_path_factory):
    gateway = Gateway(tmp_path_factory.mktemp("imports"), sim_control_config({"sim": 1}, ['{name: "*", provider: sim}']))
    yield gateway
    gateway.stop()


def test_a_first_import_into_an_empty_ledger_goes_in_bulk(tmp_path):
    database = str(tmp_path / "fresh.db")
    command = ["import", "claude-code", str(FIXTURES), "--member", "ana", "--database", database, "--format", "json"]
    first = json.loads(run_cli(*command).stdout)
    assert (first["bulk"], first["added"], first["responses"]) == (True, 5, 5)
    again = json.loads(run_cli(*command, "--rescan").stdout)
    assert (again["bulk"], again["added"], again["already_present"]) == (False, 0, 5)
    connection = sqlite3.connect(database)
    indexes = {name for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'requests'")}
    assert {"requests_id", "requests_started_at", "requests_run", "requests_root_run"} <= indexes
    assert connection.execute("SELECT COUNT(*), COUNT(DISTINCT id) FROM requests").fetchone() == (5, 5)
    connection.close()


def test_claude_code_transcripts_import_once(gw):
    first = gw.cli("import", "claude-code", str(FIXTURES), "--member", "ana", "--team", "platform", "--format", "json")
    summary = json.loads(first.stdout)
    assert (summary["responses"], summary["duplicates_folded"], summary["added"], summary["malformed_lines"]) == (5, 4, 5, 1)
    assert (summary["input_tokens"], summary["output_tokens"], summary["cache_read_tokens"]) == (973, 488, 101600)
    assert float(summary["cost_usd"]) > 0 and summary["unpriced_responses"] == 0
    assert "reading session logs: 3/3 files, 5 model calls" in first.stderr

    # Unchanged since the last import into this ledger: not read again.
    again = json.loads(gw.cli("import", "claude-code", str(FIXTURES), "--member", "ana", "--team", "platform", "--format", "json").stdout)
    assert (again["files"], again["unchanged_files"], again["lines"], again["added"], again["updated"]) == (3, 3, 0, 0, 0)
    reread = json.loads(gw.cli("import", "claude-code", str(FIXTURES), "--member", "ana", "--team", "platform", "--rescan", "--format", "json").stdout)
    assert (reread["unchanged_files"], reread["added"], reread["updated"], reread["already_present"]) == (0, 0, 0, 5)
    assert reread["bulk"] is False
    rows = gw.rows("source = 'claude-code'")
    assert len(rows) == 5 and {r["member"] for r in rows} == {"ana"} and {r["workflow"] for r in rows} == {"checkout-api"}
    assert sum(r["output_tokens"] for r in rows) == 488

    skipped = gw.cli("import", "claude-code", str(FIXTURES), "--member", "ana").stdout
    assert "Skipped 3 of 3 file(s), unchanged since an earlier import (--rescan reads them again)." in skipped
    table = gw.cli("import", "claude-code", str(FIXTURES), "--member", "ana", "--rescan").stdout
    assert "5 model call(s) in 2 session(s) (4 duplicate line(s) folded)" in table and "0 added" in table
    assert "Skipped 1 malformed line(s):" in table and ":11: not a JSON object" in table

    status, usage = api(gw, "GET", "/api/usage?by=workflow&since=2026-11-01")
    assert status == 200, usage
    assert "checkout-api" in json.dumps(usage)


def test_codex_sessions_import_from_codex_home(gw, tmp_path):
    # With no path, the logs are read from $CODEX_HOME/sessions.
    home = tmp_path / "codex-home"
    shutil.copytree(CODEX, home / "sessions")
    env = dict(gw.env, CODEX_HOME=str(home))
    done = subprocess.run([strates_binary(), "import", "codex", "--member", "ana", "--format", "json", "--config", str(gw.config), "--database", gw.db],
                          env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert (summary["responses"], summary["duplicates_folded"], summary["malformed_lines"], summary["added"]) == (2, 1, 2, 2)
    assert (summary["input_tokens"], summary["cache_read_tokens"], summary["output_tokens"]) == (3000, 9000, 700)
    rows = gw.rows("source = 'codex'")
    assert sorted(r["served_model"] for r in rows) == ["gpt-5", "gpt-5-codex"] and all(r["cost_nano"] for r in rows)


def test_a_missing_folder_is_a_clear_error(gw):
    missing = gw.cli("import", "claude-code", "/nonexistent/claude", check=False)
    assert missing.returncode != 0 and "no such file or folder: /nonexistent/claude" in missing.stderr


def test_spend_spikes_show_against_the_baseline(tmp_path):
    config = sim_control_config({"sim": 1}, ['{name: "*", provider: sim}']) + "anomalies: {factor: 3, min_usd_per_hour: 0.01, baseline_days: 7}\n"
    gw = Gateway(tmp_path, config)
    try:
        # An imported history: Claude Code sessions on 2026-11-20, nothing in the days before.
        gw.cli("import", "claude-code", str(FIXTURES), "--member", "ana", "--team", "platform")
        status, report = api(gw, "GET", "/api/reports/anomalies?since=2026-11-19&until=2026-11-22")
        assert status == 200, report
        # The resumed session's hour the next day is a spike too: far above a week's average.
        assert [(s["team"], s["hour"]) for s in report["spikes"]] == [("platform", "2026-11-21T10:00:00Z"), ("platform", "2026-11-20T09:00:00Z")]
        assert report["spikes"][1]["factor"] is None and report["spikes"][0]["factor"] > 3
        rows = list(csv.reader(io.StringIO(gw.cli("report", "anomalies", "--since", "2026-11-19", "--until", "2026-11-22", "--format", "csv").stdout)))
        assert rows[0] == ["team", "hour", "spend_usd", "baseline_usd", "factor"] and [r[:2] for r in rows[1:]] == [["platform", "2026-11-21T10:00:00Z"], ["platform", "2026-11-20T09:00:00Z"]]
        text = gw.cli("report", "anomalies", "--since", "2026-11-19", "--until", "2026-11-22").stdout
        assert "team 'platform' spent" in text and "with no spend in the days before" in text
        assert "No spend spikes" in gw.cli("report", "anomalies", "--since", "2026-11-22", "--until", "2026-11-23").stdout
    finally:
        gw.stop()


def test_litellm_spend_logs_import_once(gw):
    logs = Path(__file__).resolve().parents[1] / "fixtures" / "litellm"
    first = json.loads(gw.cli("import", "litellm", str(logs / "spend_logs.json"), "--format", "json").stdout)
    assert (first["calls"], first["added"], first["skipped"], first["priced_by_litellm"]) == (4, 4, 2, 1)
    again = gw.cli("import", "litellm", str(logs / "spend_logs.csv")).stdout
    assert "4 call(s); 0 added, 0 updated, 4 already present." in again
    rows = gw.rows("source = 'litellm'")
    assert len(rows) == 4 and {r["team"] for r in rows} == {"platform", "data"}
    bad = gw.cli("import", "litellm", str(FIXTURES / ".." / "codex" / "2026" / "11" / "20" / "rollout-2026-11-20T11-00-00-0199a213-81c0-7800-8aa1-bbab2a035a54.jsonl"), check=False)
    assert bad.returncode != 0 and "not a LiteLLM spend-log export" in bad.stderr


def anthropic_usage_export(*buckets):
    """A page of Anthropic's messages usage report (/v1/organizations/usage_report/messages),
    hourly, grouped by model and API key: (start, model, key, uncached input, output)."""
    data = []
    for start, model, key, uncached, output in buckets:
        end = start + timedelta(hours=1)
        data.append({"starting_at": start.strftime("%Y-%m-%dT%H:%M:%SZ"), "ending_at": end.strftime("%Y-%m-%dT%H:%M:%SZ"), "results": [{
            "uncached_input_tokens": uncached, "cache_creation": {"ephemeral_1h_input_tokens": 0, "ephemeral_5m_input_tokens": 100},
            "cache_read_input_tokens": 2000, "output_tokens": output, "server_tool_use": {"web_search_requests": 0},
            "api_key_id": key, "workspace_id": None, "model": model, "service_tier": "standard", "context_window": "0-200k"}]})
    return {"data": data, "has_more": False, "next_page": None}


def test_a_providers_usage_export_imports_once_and_skips_days_the_gateway_metered(gw, tmp_path):
    # The gateway serves a call to 'sim' today; the export covers an earlier day and today.
    key = member_key(gw, "platform", "ana")
    assert chat(gw, key).status_code == 200
    gw.wait_rows(1, "provider = 'sim' AND source IS NULL")
    now = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0)
    earlier = now - timedelta(days=3)
    export = tmp_path / "usage.json"
    export.write_text(json.dumps(anthropic_usage_export(
        (earlier, "claude-sonnet-4-5-20250929", "apikey_01A", 1200, 300),
        (earlier, "claude-sonnet-4-5-20250929", "apikey_01B", 10, 5),
        (now, "claude-sonnet-4-5-20250929", "apikey_01A", 999, 99))))
    first = json.loads(gw.cli("import", "usage-export", str(export), "--provider", "sim", "--team", "platform",
                              "--key-team", "apikey_01B=search", "--format", "json").stdout)
    assert (first["results"], first["rows"], first["added"], first["skipped_results"]) == (3, 2, 2, 1)
    assert first["skipped_days"] == [now.strftime("%Y-%m-%d")]
    rows = gw.rows("source = 'anthropic-usage-export'")
    assert sorted((r["team"], r["input_tokens"], r["output_tokens"]) for r in rows) == [("platform", 1200, 300), ("search", 10, 5)]
    assert all(r["cost_nano"] > 0 and r["provider"] == "sim" for r in rows)
    again = gw.cli("import", "usage-export", str(export), "--provider", "sim").stdout
    assert "Rows: 2 (0 added, 0 updated, 2 already present)." in again and "--include-metered-days" in again
    # The imported usage shows in the reports like gateway traffic.
    status, flow = api(gw, "GET", "/api/reports/flow?by=team&since=30d")
    assert status == 200 and any(group["key"] == "search" and group["tokens"] == 2115 for group in flow["groups"]), flow
    # A cost export carries no tokens: refused with what to do instead.
    costs = tmp_path / "costs.json"
    costs.write_text(json.dumps({"data": [{"starting_at": "2026-11-20T00:00:00Z", "results": [{"currency": "USD", "amount": "12.5", "model": "claude-sonnet-4-5-20250929"}]}]}))
    refused = gw.cli("import", "usage-export", str(costs), "--provider", "sim", check=False)
    assert refused.returncode != 0 and "dollars, not tokens" in refused.stderr
