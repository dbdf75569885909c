"""Cost-aware auto routing end to end: `strates/auto` over `fast` and `smart` tiers on the
simulated provider, through the official OpenAI SDK. Without scores the strongest tier
serves; feedback on the cheaper tier moves that task class to it; the decision and its
reason are in the ledger, `strates routes test` explains it, and the routing report prices
the savings against the baseline tier."""
import json

import openai
import pytest

from conftest import Gateway, api, sim_control_config

CONFIG = sim_control_config({"sim": 1}, [
    "{name: fast, provider: sim, model: gpt-4o-mini}",
    "{name: smart, provider: sim, model: gpt-4o}",
    "{name: strates/auto, auto: {tiers: [fast, smart], target_success: 0.8, min_samples: 3, exploration: 0}}",
])


@pytest.fixture(scope="module")
def gw(tmp_path_factory):
    gateway = Gateway(tmp_path_factory.mktemp("auto"), CONFIG)
    yield gateway
    gateway.stop()


def ask(gw, model, **extra):
    client = openai.OpenAI(base_url=gw.url + "/v1", api_key=gw.key, max_retries=0)
    raw = client.chat.completions.with_raw_response.create(
        model=model, max_tokens=50, messages=[{"role": "user", "content": "Rename this variable."}], **extra)
    raw.parse()
    return raw.headers


def routes_test(gw, tmp_path):
    body = tmp_path / "request.json"
    body.write_text(json.dumps({"model": "strates/auto", "max_tokens": 50, "messages": [{"role": "user", "content": "hi"}]}))
    return gw.cli("routes", "test", str(body)).stdout


def test_auto_routing_learns_from_feedback(gw, tmp_path):
    first = ask(gw, "strates/auto")
    assert first["x-strates-auto-tier"] == "smart" and first["x-strates-deployment"] == "sim/gpt-4o"
    row = gw.row_for(first["x-strates-request-id"])
    assert (row["route"], row["auto_tier"], row["task_class"], row["baseline_model"]) == ("strates/auto", "smart", "chat/low", "sim/gpt-4o")
    assert "no cheaper tier has shown 80% success on chat/low" in row["routing_reason"]
    assert "→ smart: no cheaper tier" in routes_test(gw, tmp_path)

    # Three scored requests on the cheaper tier, sent to it directly.
    for _ in range(3):
        rid = ask(gw, "fast")["x-strates-request-id"]
        status, made = api(gw, "POST", "/api/feedback", {"request_id": rid, "score": 1, "source": "review"})
        assert status == 201, made
    moved = ask(gw, "strates/auto")
    assert moved["x-strates-auto-tier"] == "fast" and moved["x-strates-deployment"] == "sim/gpt-4o-mini"
    assert moved["x-strates-routing-reason"] == "cheapest tier meeting 80% on chat/low: 100% over 3"
    explained = routes_test(gw, tmp_path)
    assert "task class chat/low; fast 100% over 3, smart no scores" in explained and "→ fast: cheapest tier" in explained
    assert "1. sim/gpt-4o-mini" in explained
    # A request with tools is another task class: it stays on the strongest tier.
    tools = [{"type": "function", "function": {"name": "edit", "parameters": {"type": "object", "properties": {}}}}]
    assert ask(gw, "strates/auto", tools=tools)["x-strates-auto-tier"] == "smart"

    gw.wait_rows(6, "route = 'strates/auto' OR requested_model = 'fast'")
    report = json.loads(gw.cli("report", "routing", "--since", "1d", "--format", "json").stdout)
    line = next(r for r in report["routes"] if r["route"] == "strates/auto")
    assert line["requests"] == 3
    assert {d["deployment"] for d in line["deployments"]} == {"sim/gpt-4o", "sim/gpt-4o-mini"}
    # The request served by fast is priced at smart's rate for the comparison: a saving.
    assert float(line["savings_vs_requested_usd"]) > 0


def test_auto_routes_through_the_admin_api(gw):
    status, made = api(gw, "POST", "/api/routes", {"name": "team/auto", "auto": {"tiers": ["fast", "smart"], "target_success": 0.95}})
    assert status == 201, made
    assert made["auto"]["tiers"] == ["fast", "smart"] and made["auto"]["target_success"] == 0.95 and made["deployments"] == []
    listed = api(gw, "GET", "/api/routing")[1]["data"]
    assert next(r for r in listed if r["name"] == "team/auto")["auto"]["min_samples"] == 20
    assert ask(gw, "team/auto")["x-strates-auto-tier"] in ("fast", "smart")

    status, error = api(gw, "POST", "/api/routes", {"name": "bad/auto", "auto": {"tiers": ["fast", "nothing-serves-this"]}})
    assert status == 400 and "'nothing-serves-this' is not served by any route" in error["error"]["message"]
    status, error = api(gw, "POST", "/api/routes", {"name": "bad/auto", "auto": {"tiers": [], "exploration": 2}})
    assert status == 400
    for expected in ["'tiers' needs at least one route", "'exploration' must be from 0 to 1"]:
        assert expected in error["error"]["message"]
