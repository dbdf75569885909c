"""Production reserves on a live gateway under mixed load: personal and then sandbox
traffic is refused as the organization's capacity fills, production never is; refusals
reach the official SDKs in their own shapes; reserves are managed through the API and the
CLI, and team admins cannot touch them."""
from concurrent.futures import ThreadPoolExecutor

import anthropic
import httpx
import openai
import pytest

from conftest import sim_control_config, Gateway, api, wait_for

# "sim" is slow, so requests stay in flight while the reserve fills; "quick" is another provider.
CONFIG = sim_control_config(
    {"sim": 2500, "quick": 2}, ['{name: "gpt-*", provider: sim}', '{name: "claude-*", provider: quick}', '{name: "quick-*", provider: quick}'])

MAX_TOKENS = 190
BODY = {"model": "gpt-4o-mini", "max_tokens": MAX_TOKENS, "messages": [{"role": "user", "content": "hi"}]}


@pytest.fixture(scope="module")
def gw(tmp_path_factory):
    gateway = Gateway(tmp_path_factory.mktemp("reserves"), CONFIG)
    gateway.keys = {
        environment: gateway.cli("keys", "create", "--member", f"{environment}-user", "--team", "platform", "--environment", environment,
                                 "--quiet").stdout.strip()
        for environment in ("production", "sandbox", "personal")
    }
    yield gateway
    gateway.stop()


def post(gw, environment, body=None):
    response = httpx.post(gw.url + "/v1/chat/completions", json=body or BODY, timeout=30,
                          headers={"authorization": f"Bearer {gw.keys[environment]}"})
    return environment, response


def fire(pool, gw, environment, count):
    return [pool.submit(post, gw, environment) for _ in range(count)]


def test_mixed_load_throttles_personal_then_sandbox_and_never_production(gw):
    # 6,000 tokens a minute on the slow provider; each request holds about 211 tokens
    # (a 21-token input estimate plus max_tokens) for 2.5 s. Personal stops at 60 %
    # (3,600), sandbox at 70 % (4,200); production keeps the top 30 % and more.
    status, reserve = api(gw, "POST", "/api/reserves", {"name": "sim-tpm", "scope": "organization:default", "capacity_tpm": 6000,
                                                         "provider": "sim"})
    assert status == 201, reserve
    assert (reserve["production_share"], reserve["sandbox_until"], reserve["personal_until"]) == (30, 70, 60)
    with ThreadPoolExecutor(max_workers=80) as pool:
        # 12 production requests in flight: about 2,530 tokens, 42 %.
        first = fire(pool, gw, "production", 12)
        wait_for(lambda: api(gw, "GET", "/api/reserves/sim-tpm/status")[1]["used"] >= 12 * MAX_TOKENS, what="production in flight")
        # Personal and sandbox together: room for about 5 personal, 7 of both.
        mixed = fire(pool, gw, "personal", 15) + fire(pool, gw, "sandbox", 15)
        mixed_results = [f.result() for f in mixed]
        # Production beyond the whole capacity still passes: 30 more, about 6,300 tokens.
        last = fire(pool, gw, "production", 30)
        while_full = wait_for(lambda: (lambda s: s if s["used"] > 6000 else None)(api(gw, "GET", "/api/reserves/sim-tpm/status")[1]),
                              what="production past capacity")
        production = [f.result() for f in first + last]

    assert all(r.status_code == 200 for _, r in production), [r.text for _, r in production if r.status_code != 200][:2]
    admitted = {env: sum(1 for e, r in mixed_results if e == env and r.status_code == 200) for env in ("personal", "sandbox")}
    refused = [(e, r) for e, r in mixed_results if r.status_code != 200]
    assert 1 <= admitted["personal"] <= 6, admitted
    assert admitted["personal"] + admitted["sandbox"] <= 8, admitted
    assert admitted["sandbox"] >= 1, admitted
    for environment, response in refused:
        assert response.status_code == 429
        error = response.json()["error"]
        assert error["code"] == "production_reserve" and "sim-tpm" in error["message"], error
        assert f"{environment} traffic may use up to {60 if environment == 'personal' else 70}%" in error["message"]
        assert response.headers["x-strates-reserve"] == "sim-tpm" and int(response.headers["retry-after"]) >= 1
    assert while_full["used_percent"] > 100 and while_full["open_to"] == ["production"]

    # The ledger records each refusal as rejected, with its environment.
    rows = gw.wait_rows(len(refused), "status = 'rejected' AND error = 'refused: production_reserve'")
    assert sorted(r["environment"] for r in rows) == sorted(e for e, _ in refused)
    # Traffic on another provider is not counted against a reserve on the sim provider.
    other = post(gw, "personal", {**BODY, "model": "quick-model"})[1]
    assert other.status_code == 200, other.text
    assert api(gw, "DELETE", "/api/reserves/sim-tpm")[0] == 200


def test_cli_reserve_reaches_the_running_gateway_and_sdks_get_their_own_shapes(gw):
    # A spend reserve smaller than any request: personal and sandbox are refused, production is not.
    out = gw.cli("reserves", "set", "tiny", "--capacity-usd", "0.000001", "--period", "day").stdout
    assert "Created production reserve 'tiny'" in out and "organization:default" in out
    anthropic_sandbox = anthropic.Anthropic(api_key=gw.keys["sandbox"], base_url=gw.url, max_retries=0)

    def refused_now():
        try:
            anthropic_sandbox.messages.create(model="claude-haiku-4-5", max_tokens=50, messages=[{"role": "user", "content": "hi"}])
            return None
        except anthropic.RateLimitError as error:
            return error

    error = wait_for(refused_now, what="the CLI's reserve in force")
    body = error.response.json()
    assert body["type"] == "error" and body["error"]["type"] == "rate_limit_error"
    assert "'tiny'" in body["error"]["message"] and "sandbox traffic may use up to 70%" in body["error"]["message"]
    assert error.response.headers["x-should-retry"] == "false"

    personal = openai.OpenAI(api_key=gw.keys["personal"], base_url=gw.url + "/v1", max_retries=0)
    with pytest.raises(openai.RateLimitError) as refusal:
        personal.chat.completions.create(model="quick-model", max_tokens=50, messages=[{"role": "user", "content": "hi"}])
    assert refusal.value.response.json()["error"]["code"] == "production_reserve"
    production = openai.OpenAI(api_key=gw.keys["production"], base_url=gw.url + "/v1", max_retries=0)
    answer = production.chat.completions.create(model="quick-model", max_tokens=50, messages=[{"role": "user", "content": "hi"}])
    assert answer.usage.total_tokens > 0

    listed = gw.cli("reserves", "list").stdout
    assert "tiny" in listed and "production keeps 30%" in listed
    gw.cli("reserves", "delete", "tiny")
    wait_for(lambda: refused_now() is None, what="the deleted reserve lifted")


def test_reserve_api_checks_its_input_and_keeps_team_admins_out(gw):
    status, error = api(gw, "POST", "/api/reserves", {"name": "bad", "scope": "team:platform", "capacity_usd": 10, "capacity_tpm": 5})
    assert status == 400
    assert "organization" in error["error"]["message"] and "not both" in error["error"]["message"]
    status, error = api(gw, "POST", "/api/reserves", {"name": "bad2", "scope": "organization:default", "capacity_usd": 10,
                                                      "personal_until": 90})
    assert status == 400 and "personal_until 90%" in error["error"]["message"]
    status, made = api(gw, "POST", "/api/reserves", {"name": "monthly", "scope": "organization:default", "capacity_usd": "20000",
                                                     "time_zone": "Europe/Paris", "production_share": 40})
    assert status == 201, made
    assert made["capacity_usd"] == "20000.000000" and made["period"] == "month" and made["sandbox_until"] == 60
    status, changed = api(gw, "PATCH", "/api/reserves/monthly", {"personal_until": 35})
    assert status == 200 and changed["personal_until"] == 35 and changed["production_share"] == 40
    status, standing = api(gw, "GET", "/api/reserves/monthly/status")
    assert status == 200 and standing["open_to"] == ["production", "sandbox", "personal"] and standing["resets_at"] is not None

    lead = gw.cli("keys", "create", "--admin", "--team", "platform", "--member", "platform-lead", "--quiet").stdout.strip()
    status, error = api(gw, "POST", "/api/reserves", {"name": "mine", "scope": "organization:default", "capacity_usd": 1}, key=lead)
    assert status == 403 and error["error"]["code"] == "outside_your_team"
    assert api(gw, "GET", "/api/reserves", key=lead)[1]["data"] == []
    assert api(gw, "GET", "/api/reserves/monthly", key=lead)[0] == 404
    assert api(gw, "DELETE", "/api/reserves/monthly")[0] == 200
