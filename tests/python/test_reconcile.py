"""`strates reconcile` against exports shaped exactly as Anthropic's admin API returns them:
the ledger (filled through the gateway by the official SDK, metered from the stub's known
usage) matches an export of the same traffic, and a difference is flagged, with its cause,
and a non-zero exit status for scheduled checks."""
import datetime
import json
from decimal import Decimal

import anthropic


DAY = {}


def day_start():
    # The UTC day the requests were recorded on (set once they are in the ledger).
    when = DAY["at"]
    return when.strftime("%Y-%m-%dT00:00:00Z"), (when + datetime.timedelta(days=1)).strftime("%Y-%m-%dT00:00:00Z")


def usage_export(extra_input=0):
    start, end = day_start()
    # Three calls of the stub's answer: input 12, cache writes 1500 (5 m) + 500 (1 h), reads 30000, output 108.
    result = {"uncached_input_tokens": 36 + extra_input, "cache_creation": {"ephemeral_5m_input_tokens": 4500, "ephemeral_1h_input_tokens": 1500},
              "cache_read_input_tokens": 90000, "output_tokens": 324, "server_tool_use": {"web_search_requests": 0},
              "api_key_id": None, "workspace_id": None, "model": "claude-sonnet-4-5", "service_tier": "standard", "context_window": "0-200k"}
    return {"data": [{"starting_at": start, "ending_at": end, "results": [result]}], "has_more": False, "next_page": None}


def cost_export(cents):
    start, end = day_start()
    return {"data": [{"starting_at": start, "ending_at": end, "results": [
        {"currency": "USD", "amount": cents, "workspace_id": None, "description": "Claude Sonnet 4.5 Usage", "cost_type": "tokens",
         "context_window": "0-200k", "model": "claude-sonnet-4-5", "service_tier": "standard", "token_type": "uncached_input_tokens"}]}],
        "has_more": False, "next_page": None}


def reconcile(gateway, tmp_path, export, *extra):
    path = tmp_path / "export.json"
    path.write_text(json.dumps(export))
    return gateway.cli("reconcile", "--provider", "anthropic", "--export", str(path), *extra, check=False)


def test_the_ledger_reconciles_with_the_providers_export(gateway, tmp_path):
    client = anthropic.Anthropic(base_url=gateway.url, api_key=gateway.key, max_retries=0)
    for _ in range(3):
        client.messages.create(model="claude-sonnet-4-5", max_tokens=100, messages=[{"role": "user", "content": "hi"}])
    rows = gateway.wait_rows(3, "provider = 'anthropic' AND requested_model = 'claude-sonnet-4-5'")
    assert len(rows) == 3, "this module's gateway saw other Anthropic traffic"
    days = {datetime.datetime.fromtimestamp(r["started_at"] / 1000, datetime.timezone.utc).date() for r in rows}
    assert len(days) == 1, "the requests straddled midnight UTC"
    DAY["at"] = datetime.datetime.fromtimestamp(rows[0]["started_at"] / 1000, datetime.timezone.utc)

    same = reconcile(gateway, tmp_path, usage_export())
    assert same.returncode == 0, same.stdout + same.stderr
    assert "Everything matches within 1.0%." in same.stdout

    more = reconcile(gateway, tmp_path, usage_export(extra_input=50000), "--format", "json")
    assert more.returncode == 1
    report = json.loads(more.stdout)
    assert report["differences"] == 1 and report["lines"][0]["provider_tokens"] - report["lines"][0]["ledger_tokens"] == 50000
    assert report["lines"][0]["causes"][0].startswith("unmetered traffic: anthropic counted 50000 tokens more than Strates saw")

    # The cost report in cents, as Anthropic gives it: the ledger's contract cost, to the cent.
    nano = sum(r["cost_nano"] for r in rows)
    cents = str(Decimal(nano) / Decimal(10_000_000))
    billed = reconcile(gateway, tmp_path, cost_export(cents))
    assert billed.returncode == 0, billed.stdout
    drift = reconcile(gateway, tmp_path, cost_export(str(Decimal(cents) * 2)))
    assert drift.returncode == 1 and "price catalog drift: check Strates' price for claude-sonnet-4-5" in drift.stdout

    bad = reconcile(gateway, tmp_path, {"data": [{"starting_at": "2026-11-20T00:00:00Z", "results": [{"currency": "EUR", "amount": "1"}]}]})
    assert bad.returncode != 0 and "only USD is reconciled" in bad.stderr
