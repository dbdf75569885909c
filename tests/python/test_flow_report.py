"""Token flow through the API and the CLI: spend by team and workflow from traffic sent with
the official OpenAI SDK through the stub upstream, shares and trend, CSV, clear errors for
bad dimensions, and a team admin seeing only its own team."""
import json

import openai

from conftest import api, api_csv


def send(gateway, key, workflow, count):
    client = openai.OpenAI(base_url=gateway.url + "/v1", api_key=key, max_retries=0, default_headers={"x-strates-workflow": workflow})
    for _ in range(count):
        client.chat.completions.create(model="gpt-4o", max_tokens=50, messages=[{"role": "user", "content": "hi"}])


def test_flow_by_team_and_workflow(gateway):
    data_key = gateway.cli("keys", "create", "--member", "dana", "--team", "data", "--quiet").stdout.strip()
    send(gateway, gateway.key, "review", 3)
    send(gateway, gateway.key, "docs", 1)
    send(gateway, data_key, "etl", 2)
    gateway.wait_rows(6, "workflow IN ('review', 'docs', 'etl')")

    status, report = api(gateway, "GET", "/api/reports/flow?by=team,workflow&since=1d&trend=day")
    assert status == 200, report
    groups = {g["key"]: g for g in report["groups"]}
    platform = groups["platform"]
    assert [c["key"] for c in platform["children"]][:2] == ["review", "docs"]
    review = platform["children"][0]
    assert review["requests"] == 3 and float(review["spend_usd"]) > 0
    assert abs(sum(g["share"] for g in report["groups"]) - 1) < 0.001
    assert len(platform["trend_usd"]) == len(report["periods"]) >= 1
    assert abs(sum(float(x) for x in platform["trend_usd"]) - float(platform["spend_usd"])) < 1e-6

    csv = gateway.cli("report", "flow", "--by", "team,workflow", "--since", "1d", "--format", "csv").stdout.splitlines()
    assert csv[0] == "group,subgroup,requests,tokens,spend_usd,share"
    assert any(line.startswith("data,etl,2,") for line in csv)
    table = gateway.cli("report", "flow", "--by", "team", "--since", "1d", "--top", "1").stdout
    assert "(other)" in table and "platform" in table

    status, error = api(gateway, "GET", "/api/reports/flow?by=team,colour")
    assert status == 400 and "unknown dimension(s) colour" in error["error"]["message"]
    assert api(gateway, "GET", "/api/reports/flow?by=team,workflow,model")[0] == 400
    bad = gateway.cli("report", "flow", "--by", "day", check=False)
    assert bad.returncode != 0 and "give one or two dimensions" in bad.stderr

    lead = gateway.cli("keys", "create", "--admin", "--team", "data", "--member", "lead", "--quiet").stdout.strip()
    status, own = api(gateway, "GET", "/api/reports/flow?by=team&since=1d", key=lead)
    assert status == 200 and [g["key"] for g in own["groups"]] == ["data"]


def test_forecast_of_budgets_and_teams(gateway):
    send(gateway, gateway.key, "review", 2)
    gateway.cli("budgets", "set", "platform-month", "--scope", "team:platform", "--period", "month", "--limit-usd", "10")
    gateway.wait_rows(2, "workflow = 'review'")
    status, forecast = api(gateway, "GET", "/api/reports/forecast")
    assert status == 200, forecast
    assert forecast["method"].startswith("linear: the average daily spend of the last 7 days")
    line = next(b for b in forecast["budgets"] if b["budget"] == "platform-month")
    assert float(line["spent"]) > 0 and float(line["daily_burn"]) > 0 and line["period_ends"] is not None
    assert float(line["projected"]) >= float(line["spent"])
    platform = next(t for t in forecast["teams"] if t["team"] == "platform")
    assert float(platform["month_to_date_usd"]) > 0 and float(platform["projected_month_usd"]) >= float(platform["month_to_date_usd"])

    status, kind, rows = api_csv(gateway, "/api/reports/forecast?format=csv")
    assert status == 200 and kind.startswith("text/csv") and rows[0][:3] == ["kind", "name", "scope"]
    assert ["budget", "platform-month", "team:platform", "usd"] == next(r for r in rows if r[1] == "platform-month")[:4]
    assert any(r[0] == "team" and r[1] == "platform" for r in rows)
    table = gateway.cli("report", "forecast").stdout
    assert "Method: linear" in table and "platform-month" in table and "week over week" in table
    lead = gateway.cli("keys", "create", "--admin", "--team", "data", "--member", "lead2", "--quiet").stdout.strip()
    status, own = api(gateway, "GET", "/api/reports/forecast", key=lead)
    assert status == 200 and own["budgets"] == [] and all(t["team"] == "data" for t in own["teams"])
