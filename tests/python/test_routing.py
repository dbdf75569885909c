"""Routing on a live gateway: an alias served by several deployments falls back past a
failing one before the client sees anything — for the official SDKs, streamed or not —
and the ledger records which deployment served after which failures."""
import json

import anthropic
import openai
import pytest

from conftest import Gateway, api, run_cli, wait_for

CONFIG = """
ledger:
  flush_interval_ms: 50
providers:
  down: {kind: sim, fault: "503"}
  slow: {kind: sim, fault: timeout, hang_ms: 10000}
  up: {kind: sim, output_tokens: {min: 5, max: 20}}
models:
  - name: fast
    strategy: fallback
    deployments:
      - {provider: down, model: gpt-4o-mini}
      - {provider: slow, model: gpt-4o-mini, timeout_seconds: 0.3}
      - {provider: up, model: gpt-4o-mini}
  - name: careful
    deployments:
      - {provider: down, model: claude-haiku-4-5}
      - {provider: up, model: claude-haiku-4-5}
  - name: doomed
    deployments:
      - {provider: slow, model: gpt-4o-mini, timeout_seconds: 0.3}
      - {provider: down, model: gpt-4o-mini}
  - {name: "gpt-4o", provider: up, model: gpt-4o-mini}   # served by a cheaper model
  - name: smart
    deployments: [{provider: up, model: gpt-4.1}]
  - name: frugal
    max_input_usd_per_mtok: 1
    deployments: [{provider: up, model: gpt-4o}, {provider: up, model: gpt-4o-mini}]
  - {name: "gpt-*", provider: up}
routing_rules:
  - {name: planner-smart, when: {process: planner}, route: smart}
  - {name: agents-smart, models: "gpt-*", when: {tools: true, reasoning: any}, route: smart}
"""


@pytest.fixture(scope="module")
def gw(tmp_path_factory):
    gateway = Gateway(tmp_path_factory.mktemp("routing"), CONFIG)
    yield gateway
    gateway.stop()


def test_openai_sdk_falls_back_past_a_503_and_a_timeout(gw):
    client = openai.OpenAI(api_key=gw.key, base_url=gw.url + "/v1", max_retries=0)
    raw = client.chat.completions.with_raw_response.create(model="fast", max_tokens=30, messages=[{"role": "user", "content": "hi"}])
    answer = raw.parse()
    assert answer.choices[0].message.content and answer.usage.total_tokens > 0
    assert raw.headers["x-strates-deployment"] == "up/gpt-4o-mini" and raw.headers["x-strates-fallbacks"] == "2"
    row = gw.row_for(raw.headers["x-strates-request-id"])
    assert row["provider"] == "up" and row["route"] == "fast" and row["status"] == "completed"
    assert row["failed_attempts"] == "down/gpt-4o-mini: 503; slow/gpt-4o-mini: timeout"

    # Streamed: the client gets one clean stream from the deployment that served.
    stream = client.chat.completions.create(model="fast", max_tokens=30, stream=True, stream_options={"include_usage": True},
                                            messages=[{"role": "user", "content": "hi"}])
    chunks = list(stream)
    assert chunks[-1].usage.completion_tokens > 0
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)


def test_anthropic_sdk_falls_back_too(gw):
    client = anthropic.Anthropic(api_key=gw.key, base_url=gw.url, max_retries=0)
    raw = client.messages.with_raw_response.create(model="careful", max_tokens=30, messages=[{"role": "user", "content": "hi"}])
    assert raw.parse().usage.output_tokens > 0
    row = gw.row_for(raw.headers["x-strates-request-id"])
    assert row["provider"] == "up" and row["failed_attempts"] == "down/claude-haiku-4-5: 503"


def test_when_every_deployment_fails_the_client_gets_the_last_error_in_its_format(gw):
    client = openai.OpenAI(api_key=gw.key, base_url=gw.url + "/v1", max_retries=0)
    with pytest.raises(openai.InternalServerError) as failed:
        client.chat.completions.with_raw_response.create(model="doomed", max_tokens=30, messages=[{"role": "user", "content": "hi"}])
    assert failed.value.status_code == 503
    row = gw.row_for(failed.value.response.headers["x-strates-request-id"])
    assert row["status"] == "failed" and row["provider"] == "down" and row["failed_attempts"] == "slow/gpt-4o-mini: timeout"


def test_config_problems_name_the_route(gw, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("""
providers:
  up: {kind: sim}
models:
  - {name: a, strategy: fastest, deployments: [{provider: up}]}
  - {name: b, provider: up, deployments: [{provider: up}]}
  - {name: c, deployments: [{model: x}]}
  - {name: d, deployments: [{provider: nowhere}]}
  - {name: e, deployments: [{provider: up, timeout_seconds: -1}]}
  - {name: f, max_input_usd_per_mtok: cheap, provider: up}
routing_rules:
  - {name: r, when: {process: planner, colour: blue}, route: nowhere-model}
""")
    result = run_cli("config", "validate", str(bad), check=False)
    assert result.returncode == 1
    for expected in ["'fastest' is not a strategy", "not both", "models[2].deployments[0].provider: missing",
                     "'nowhere' is not a configured provider", "models[4].deployments[0].timeout_seconds",
                     "routing_rules[0].when.colour: unknown condition", "models[5].max_input_usd_per_mtok: expected dollars", "'nowhere-model' is not served by any route"]:
        assert expected in result.stdout + result.stderr, (expected, result.stdout, result.stderr)


def test_routes_and_deployment_health_through_the_admin_api(gw):
    openai.OpenAI(api_key=gw.key, base_url=gw.url + "/v1", max_retries=0).chat.completions.create(
        model="fast", max_tokens=10, messages=[{"role": "user", "content": "hi"}])
    status, listing = api(gw, "GET", "/api/routing")
    assert status == 200
    fast = next(r for r in listing["data"] if r["name"] == "fast")
    assert fast["strategy"] == "fallback" and [d["provider"] for d in fast["deployments"]] == ["down", "slow", "up"]
    down, slow, up = fast["deployments"]
    assert down["failures_in_a_row"] >= 1 and slow["timeout_seconds"] == 0.3
    assert up["failures_in_a_row"] == 0 and up["latency_ms"] is not None


def test_routing_report_shows_deployments_fallbacks_and_savings(gw):
    client = openai.OpenAI(api_key=gw.key, base_url=gw.url + "/v1", max_retries=0)
    for _ in range(3):
        client.chat.completions.create(model="gpt-4o", max_tokens=50, messages=[{"role": "user", "content": "Summarise the plan."}])
    gw.wait_rows(3, "requested_model = 'gpt-4o'")
    report = json.loads(gw.cli("report", "routing", "--since", "1d", "--format", "json").stdout)
    routes = {r["route"]: r for r in report["routes"]}
    fast = routes["fast"]
    assert fast["fell_back"] >= 1 and "up/gpt-4o-mini" in [d["deployment"] for d in fast["deployments"]]
    assert any(f["failed_attempts"] == "down/gpt-4o-mini: 503; slow/gpt-4o-mini: timeout" for f in fast["fallbacks"])
    assert routes["doomed"]["errors"] >= 1
    # gpt-4o served by gpt-4o-mini: the same usage would have cost more on gpt-4o.
    cheap = routes["gpt-4o"]
    assert cheap["deployments"][0]["deployment"] == "up/gpt-4o-mini" and float(cheap["savings_vs_requested_usd"]) > 0

    table = gw.cli("report", "routing", "--since", "1d").stdout
    assert "after down/gpt-4o-mini: 503" in table and "saved vs requested" in table
    status, body = api(gw, "GET", "/api/reports/routing?since=1d")
    assert status == 200 and {r["route"] for r in body["routes"]} >= {"fast", "gpt-4o"}
    assert api(gw, "GET", "/api/reports/routing?since=yesterday")[0] == 400


def test_routing_rules_send_requests_by_process_and_features(gw):
    client = openai.OpenAI(api_key=gw.key, base_url=gw.url + "/v1", max_retries=0)
    raw = client.chat.completions.with_raw_response.create(
        model="gpt-4o-mini", max_tokens=20, messages=[{"role": "user", "content": "plan"}], extra_headers={"x-strates-process": "planner"})
    row = gw.row_for(raw.headers["x-strates-request-id"])
    assert row["routing_rule"] == "planner-smart" and row["route"] == "smart" and row["served_model"] == "gpt-4.1"
    assert row["requested_model"] == "gpt-4o-mini" and raw.headers["x-strates-deployment"] == "up/gpt-4.1"

    tools = [{"type": "function", "function": {"name": "run", "parameters": {"type": "object", "properties": {}}}}]
    raw = client.chat.completions.with_raw_response.create(
        model="gpt-4o-mini", max_tokens=20, tools=tools, reasoning_effort="high", messages=[{"role": "user", "content": "go"}])
    assert gw.row_for(raw.headers["x-strates-request-id"])["routing_rule"] == "agents-smart"
    raw = client.chat.completions.with_raw_response.create(model="gpt-4o-mini", max_tokens=20, tools=tools, messages=[{"role": "user", "content": "go"}])
    row = gw.row_for(raw.headers["x-strates-request-id"])
    assert row["routing_rule"] is None and row["served_model"] == "gpt-4o-mini"


def test_routes_test_prints_the_decision_and_the_rule(gw, tmp_path):
    body = tmp_path / "request.json"
    body.write_text(json.dumps({"model": "gpt-4o-mini", "max_tokens": 100, "messages": [{"role": "user", "content": "plan the work"}]}))
    out = gw.cli("routes", "test", str(body), "--header", "x-strates-process: planner", "--team", "platform").stdout
    assert "rule:      planner-smart (process=planner → smart)" in out and "route:     smart (fallback, retries 0)" in out
    assert "1. up/gpt-4.1" in out and "process=planner" in out
    decided = json.loads(gw.cli("routes", "test", str(body), "--format", "json").stdout)
    assert decided["rule"] is None and decided["route"] == "gpt-*" and decided["deployments"][0]["deployment"] == "up/gpt-4o-mini"
    fast = tmp_path / "fast.json"
    fast.write_text(json.dumps({"model": "fast", "messages": []}))
    decided = json.loads(gw.cli("routes", "test", str(fast), "--format", "json").stdout)
    assert [d["deployment"] for d in decided["deployments"]] == ["down/gpt-4o-mini", "slow/gpt-4o-mini", "up/gpt-4o-mini"]
    failed = gw.cli("routes", "test", str(body), "--api", "nope", check=False)
    assert failed.returncode != 0 and "--api must be" in failed.stderr


def test_price_ceiling_skips_a_deployment_too_dear_and_reports_the_move(gw):
    client = openai.OpenAI(api_key=gw.key, base_url=gw.url + "/v1", max_retries=0)
    raw = client.chat.completions.with_raw_response.create(model="frugal", max_tokens=10, messages=[{"role": "user", "content": "hi"}])
    assert raw.headers["x-strates-deployment"] == "up/gpt-4o-mini"
    frugal = next(r for r in api(gw, "GET", "/api/routing")[1]["data"] if r["name"] == "frugal")
    assert frugal["max_input_usd_per_mtok"] == "1.000000"
    assert [d["above_price_ceiling"] for d in frugal["deployments"]] == [True, False]
    report = wait_for(lambda: (lambda r: r if r["events"] else None)(json.loads(gw.cli("report", "routing", "--since", "1d", "--format", "json").stdout)),
                      what="the route event in the ledger")
    event = report["events"][0]
    assert event["route"] == "frugal" and event["deployment"] == "up/gpt-4o" and event["event"] == "above_price_ceiling"
    assert "Route changes:" in gw.cli("report", "routing", "--since", "1d").stdout


def test_routes_through_the_admin_api_apply_at_once_and_override_the_file(gw):
    client = openai.OpenAI(api_key=gw.key, base_url=gw.url + "/v1", max_retries=0)
    status, made = api(gw, "POST", "/api/routes", {
        "name": "turbo", "strategy": "weighted", "retries": 1,
        "deployments": [{"provider": "up", "model": "gpt-4.1-mini", "weight": 3, "timeout_seconds": 5}, {"provider": "up", "model": "gpt-4.1-nano"}]})
    assert status == 201, made
    assert made["strategy"] == "weighted" and made["deployments"][0]["weight"] == 3 and made["scope"] == "organization:*"
    raw = client.chat.completions.with_raw_response.create(model="turbo", max_tokens=10, messages=[{"role": "user", "content": "hi"}])
    assert raw.headers["x-strates-deployment"] in ("up/gpt-4.1-mini", "up/gpt-4.1-nano")
    assert gw.row_for(raw.headers["x-strates-request-id"])["route"] == "turbo"

    # An API route of the same name as a file route wins; deleting it gives the file's back.
    status, override = api(gw, "POST", "/api/routes", {"name": "smart", "deployments": [{"provider": "up", "model": "gpt-4o-mini"}]})
    assert status == 201, override
    raw = client.chat.completions.with_raw_response.create(model="smart", max_tokens=10, messages=[{"role": "user", "content": "hi"}])
    assert raw.headers["x-strates-deployment"] == "up/gpt-4o-mini"
    listing = api(gw, "GET", "/api/routing")[1]["data"]
    assert [r["source"] for r in listing if r["name"] == "smart"] == ["api", "config"]
    assert api(gw, "PATCH", "/api/routes/smart", {"deployments": [{"provider": "up", "model": "gpt-4.1"}]})[0] == 200
    raw = client.chat.completions.with_raw_response.create(model="smart", max_tokens=10, messages=[{"role": "user", "content": "hi"}])
    assert raw.headers["x-strates-deployment"] == "up/gpt-4.1"
    assert api(gw, "DELETE", "/api/routes/smart")[0] == 200
    raw = client.chat.completions.with_raw_response.create(model="smart", max_tokens=10, messages=[{"role": "user", "content": "hi"}])
    assert raw.headers["x-strates-deployment"] == "up/gpt-4.1"

    status, error = api(gw, "POST", "/api/routes", {"name": "bad route", "strategy": "fastest", "deployments": [{"provider": "up", "weight": "x"}, 3]})
    assert status == 400
    message = error["error"]["message"]
    for expected in ["name 'bad route'", "strategy 'fastest'", "deployments[0]: 'weight'", "deployments[1] must be an object"]:
        assert expected in message, (expected, message)
    status, error = api(gw, "POST", "/api/routes", {"name": "ghost", "deployments": [{"provider": "nowhere"}]})
    assert status == 400 and "'nowhere' is not a configured provider" in error["error"]["message"]
    lead = gw.cli("keys", "create", "--admin", "--team", "platform", "--member", "route-lead", "--quiet").stdout.strip()
    status, error = api(gw, "POST", "/api/routes", {"name": "mine", "deployments": [{"provider": "up"}]}, key=lead)
    assert status == 403
    assert api(gw, "DELETE", "/api/routes/turbo")[0] == 200


def test_routes_from_the_cli_reach_the_running_gateway(gw):
    out = gw.cli("routes", "set", "cli-fast", "--strategy", "weighted", "--deployments", "up/gpt-4.1-mini*2,up/gpt-4.1-nano").stdout
    assert "Created route 'cli-fast'" in out and "weighted: up/gpt-4.1-mini, up/gpt-4.1-nano" in out
    client = openai.OpenAI(api_key=gw.key, base_url=gw.url + "/v1", max_retries=0)

    def served():
        try:
            raw = client.chat.completions.with_raw_response.create(model="cli-fast", max_tokens=5, messages=[{"role": "user", "content": "hi"}])
            return raw.headers["x-strates-deployment"]
        except openai.NotFoundError:
            return None

    assert wait_for(served, what="the CLI's route in force") in ("up/gpt-4.1-mini", "up/gpt-4.1-nano")
    listed = gw.cli("routes", "list").stdout
    assert "cli-fast" in listed and "api" in listed and "config" in listed
    shown = json.loads(gw.cli("routes", "show", "cli-fast").stdout)
    assert [d["weight"] for d in shown["deployments"]] == [2, 1]
    failed = gw.cli("routes", "set", "cli-bad", "--deployments", "nowhere/x", check=False)
    assert failed.returncode != 0 and "'nowhere' is not a configured provider" in failed.stderr
    failed = gw.cli("routes", "set", "cli-bad", "--deployments", "no-slash", check=False)
    assert failed.returncode != 0 and "PROVIDER/MODEL" in failed.stderr
    gw.cli("routes", "delete", "cli-fast")
    wait_for(lambda: served() is None, what="the deleted route gone")
