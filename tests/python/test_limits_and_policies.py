"""Rate limits and model access policies on a live gateway: the admin API and CLI, the
providers' own rate-limit headers, refusals the official SDKs raise as their own
RateLimitError / PermissionDeniedError, and team admins kept to their team."""
import asyncio
import json

import anthropic
import httpx
import openai
import pytest

from conftest import sim_control_config, Gateway, api, chat, member_key, wait_for

CONFIG = sim_control_config(
    {"sim": 5}, ['{name: "gpt-*", provider: sim}', '{name: "claude-*", provider: sim}', '{name: fast, provider: sim, model: gpt-4o-mini}'])


@pytest.fixture(scope="module")
def gw(tmp_path_factory):
    gateway = Gateway(tmp_path_factory.mktemp("controls"), CONFIG)
    yield gateway
    gateway.stop()


def messages(gw, key, model="claude-sonnet-4-5", max_tokens=50):
    return httpx.post(gw.url + "/v1/messages", headers={"x-api-key": key, "anthropic-version": "2023-06-01"}, timeout=30,
                      json={"model": model, "max_tokens": max_tokens, "messages": [{"role": "user", "content": "hi"}]})


# --- the admin API ---------------------------------------------------------------------

def test_admin_api_manages_limits_and_policies(gw):
    status, limit = api(gw, "POST", "/api/limits", {"name": "crud-limit", "scope": "team:crud", "requests_per_minute": 60,
                                                     "max_concurrent_requests": "4"})
    assert status == 201, limit
    assert limit["requests_per_minute"] == 60 and limit["max_concurrent_requests"] == 4 and limit["tokens_per_minute"] is None
    assert limit["id"].startswith("limit_")
    status, changed = api(gw, "PATCH", "/api/limits/crud-limit", {"tokens_per_minute": 1000, "max_concurrent_requests": None})
    assert status == 200 and changed["tokens_per_minute"] == 1000 and changed["max_concurrent_requests"] is None
    assert changed["requests_per_minute"] == 60
    assert api(gw, "GET", f"/api/limits/{limit['id']}")[1]["name"] == "crud-limit"
    assert "crud-limit" in [item["name"] for item in api(gw, "GET", "/api/limits")[1]["data"]]

    status, policy = api(gw, "POST", "/api/policies", {"name": "crud-policy", "scope": "member:crud", "allow_models": ["claude-*"],
                                                        "max_output_usd_per_mtok": 15, "max_context_tokens": 100000})
    assert status == 201, policy
    assert policy["allow_models"] == ["claude-*"] and policy["max_output_usd_per_mtok"] == "15.000000"
    assert api(gw, "PUT", "/api/policies/crud-policy", {"deny_models": ["*opus*"]})[1]["deny_models"] == ["*opus*"]
    # The CLI reads the same definitions.
    assert "crud-limit" in gw.cli("limits", "list").stdout
    assert "crud-policy" in gw.cli("policies", "list").stdout
    for path in ["/api/limits/crud-limit", "/api/policies/crud-policy"]:
        assert api(gw, "DELETE", path)[1]["deleted"] is True
        assert api(gw, "GET", path)[0] == 404


@pytest.mark.parametrize("path, body, fragments", [
    ("/api/limits", {"scope": "team:x"}, ["at least one of requests_per_minute"]),
    ("/api/limits", {"requests_per_minute": 5}, ["scope is required"]),
    ("/api/limits", {"scope": "galaxy:x", "requests_per_minute": 5}, ["galaxy:x"]),
    ("/api/limits", {"scope": "team:x", "requests_per_minute": 0}, ["'requests_per_minute' must be a whole number from 1 to 1000000000000000"]),
    ("/api/limits", {"scope": "team:x", "requests_per_minute": True}, ["requests_per_minute"]),
    ("/api/limits", {"scope": "team:x", "requests_per_minute": 5, "burst": 9}, ["unknown field 'burst'"]),
    ("/api/limits", {"scope": "team:x", "requests_per_minute": 5, "name": "has space"}, ["name 'has space'"]),
    ("/api/policies", {"scope": "team:x"}, ["at least one of allow_models"]),
    ("/api/policies", {"scope": "team:x", "allow_models": "claude-*", "max_input_usd_per_mtok": "cheap"}, ["max_input_usd_per_mtok"]),
    ("/api/policies", {"scope": "team:x", "allow_models": [1, 2]}, ["allow_models"]),
])
def test_invalid_rules_are_refused_with_what_is_wrong(gw, path, body, fragments):
    status, error = api(gw, "POST", path, body)
    assert status == 400, error
    for fragment in fragments:
        assert fragment in error["error"]["message"]


def test_rule_api_needs_an_admin_key_and_unique_names(gw):
    assert api(gw, "GET", "/api/limits", key=gw.key)[0] == 403
    assert api(gw, "GET", "/api/policies", key="sk-strates-nope")[0] == 401
    assert api(gw, "POST", "/api/limits", {"name": "dup", "scope": "team:d", "requests_per_minute": 10})[0] == 201
    status, error = api(gw, "POST", "/api/limits", {"name": "dup", "scope": "team:e", "requests_per_minute": 10})
    assert status == 409 and "dup" in error["error"]["message"]
    # Names are unique per kind: a policy may share a limit's name.
    assert api(gw, "POST", "/api/policies", {"name": "dup", "scope": "team:d", "deny_models": ["x"]})[0] == 201


# --- rate limits -----------------------------------------------------------------------

def test_requests_per_minute_with_openai_and_anthropic_headers(gw):
    key = member_key(gw, "paced", "pat")
    assert api(gw, "POST", "/api/limits", {"name": "pat-rpm", "scope": "member:pat", "requests_per_minute": 3})[0] == 201
    remaining = []
    for _ in range(2):
        response = chat(gw, key)
        assert response.status_code == 200
        assert response.headers["x-ratelimit-limit-requests"] == "3"
        remaining.append(int(response.headers["x-ratelimit-remaining-requests"]))
        assert response.headers["x-ratelimit-reset-requests"].endswith("s")
    assert remaining == [2, 1]
    response = messages(gw, key)
    assert response.status_code == 200
    assert response.headers["anthropic-ratelimit-requests-limit"] == "3"
    assert response.headers["anthropic-ratelimit-requests-remaining"] == "0"
    assert response.headers["anthropic-ratelimit-requests-reset"].endswith("Z")
    assert "x-ratelimit-limit-requests" not in response.headers

    refused = chat(gw, key)
    assert refused.status_code == 429
    error = refused.json()["error"]
    assert error["code"] == "rate_limit_exceeded"
    assert "Rate limit 'pat-rpm' (member:pat) allows 3 requests per minute" in error["message"]
    # One request comes back every 20 s: retry-after says when.
    assert 1 <= int(refused.headers["retry-after"]) <= 20
    assert refused.headers["x-ratelimit-remaining-requests"] == "0"
    assert refused.headers["x-strates-rate-limit"] == "pat-rpm"
    refused = messages(gw, key)
    assert refused.status_code == 429 and refused.json()["error"]["type"] == "rate_limit_error"
    assert refused.headers["anthropic-ratelimit-requests-remaining"] == "0"
    rows = gw.wait_rows(5, "member = ?", ("pat",))
    assert [r["http_status"] for r in rows].count(429) == 2
    assert all(r["status"] == "rejected" and r["cost_nano"] == 0 for r in rows if r["http_status"] == 429)


def test_tokens_per_minute_counts_the_estimate_then_the_actual_usage(gw):
    key = member_key(gw, "tokens", "tia")
    assert api(gw, "POST", "/api/limits", {"name": "tia-tpm", "scope": "member:tia", "tokens_per_minute": 600})[0] == 201
    too_large = chat(gw, key, max_tokens=1000)
    assert too_large.status_code == 429 and too_large.headers["x-should-retry"] == "false"
    assert "this request alone may use" in too_large.json()["error"]["message"]
    first = chat(gw, key, max_tokens=300)
    assert first.status_code == 200
    used = first.json()["usage"]["total_tokens"]
    # The 300 reserved at admission came back once the real (smaller) usage was known:
    # what is left is 600 less the first request's actual use and the second's estimate
    # (its input estimate plus its 10 max tokens), give or take a few tokens of refill.
    second = chat(gw, key, max_tokens=10)
    assert second.status_code == 200
    left = int(second.headers["x-ratelimit-remaining-tokens"])
    assert 600 - used - 10 - 60 <= left <= 600 - used, (used, left)


def test_concurrent_requests_are_capped_and_slots_come_back(gw):
    key = member_key(gw, "parallel", "pia")
    assert api(gw, "POST", "/api/limits", {"name": "pia-2", "scope": "key:" + key_id(gw, "pia"), "max_concurrent_requests": 2})[0] == 201

    async def burst():
        async with httpx.AsyncClient(timeout=30) as client:
            async def one():
                return await client.post(gw.url + "/v1/chat/completions",
                                         headers={"authorization": f"Bearer {key}", "x-sim-latency-ms": "400"},
                                         json={"model": "gpt-4o", "max_tokens": 20, "stream": True,
                                               "messages": [{"role": "user", "content": "go"}]})
            return await asyncio.gather(*[one() for _ in range(8)])

    statuses = sorted(r.status_code for r in asyncio.run(burst()))
    assert statuses == [200, 200] + [429] * 6, statuses
    # Every slot was given back when its stream ended.
    assert all(chat(gw, key).status_code == 200 for _ in range(3))


def key_id(gw, member):
    listed = json.loads(gw.cli("keys", "list", "--format", "json").stdout)
    return next(k["id"] for k in listed if k.get("member") == member)


def test_sdks_raise_rate_limit_error_with_the_message(gw):
    key = member_key(gw, "sdk-rl", "sam")
    assert api(gw, "POST", "/api/limits", {"name": "sam-1", "scope": "member:sam", "requests_per_minute": 1})[0] == 201
    client = openai.OpenAI(base_url=gw.url + "/v1", api_key=key, max_retries=0)
    client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
    with pytest.raises(openai.RateLimitError) as raised:
        client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
    assert "Rate limit 'sam-1' (member:sam) allows 1 requests per minute" in str(raised.value)
    assert raised.value.code == "rate_limit_exceeded"
    with pytest.raises(anthropic.RateLimitError) as raised:
        anthropic.Anthropic(base_url=gw.url, api_key=key, max_retries=0).messages.create(
            model="claude-sonnet-4-5", max_tokens=32, messages=[{"role": "user", "content": "hi"}])
    assert "Rate limit 'sam-1'" in str(raised.value)


def test_a_cli_limit_reaches_the_running_gateway(gw):
    key = member_key(gw, "cli-limits", "cleo")
    assert chat(gw, key).status_code == 200
    gw.cli("limits", "set", "cleo-slow", "--scope", "member:cleo", "--rpm", "1")
    wait_for(lambda: chat(gw, key).status_code == 429, timeout=5, what="the CLI limit to apply")
    assert '"requests_per_minute":1' in gw.cli("limits", "show", "cleo-slow").stdout
    gw.cli("limits", "set", "cleo-slow", "--rpm", "none", "--concurrency", "5")
    wait_for(lambda: chat(gw, key).status_code == 200, timeout=5, what="the change to apply")
    gw.cli("limits", "delete", "cleo-slow")
    assert gw.cli("limits", "show", "cleo-slow", check=False).returncode != 0


# --- model access policies -------------------------------------------------------------

def test_allow_and_deny_lists_with_wildcards(gw):
    key = member_key(gw, "contractors", "carl")
    assert api(gw, "POST", "/api/policies", {"name": "contractors-models", "scope": "team:contractors",
                                              "allow_models": ["claude-haiku-*", "gpt-4o-mini"], "deny_models": ["*-preview"]})[0] == 201
    assert chat(gw, key, model="gpt-4o-mini").status_code == 200
    assert chat(gw, key, model="fast").status_code == 200          # an alias served by an allowed model
    assert messages(gw, key, model="claude-haiku-4-5").status_code == 200
    refused = chat(gw, key, model="gpt-4o")
    assert refused.status_code == 403
    error = refused.json()["error"]
    assert error["code"] == "model_not_allowed" and error["type"] == "permission_error"
    assert "Policy 'contractors-models' (team:contractors)" in error["message"] and "not in its allow list" in error["message"]
    assert refused.headers["x-strates-policy"] == "contractors-models"
    refused = messages(gw, key, model="claude-sonnet-4-5")
    assert refused.status_code == 403 and refused.json()["error"]["type"] == "permission_error"
    refused = chat(gw, key, model="gpt-4o-mini-preview")
    assert refused.status_code == 403 and "deny list ('*-preview')" in refused.json()["error"]["message"]
    rows = gw.wait_rows(6, "member = ?", ("carl",))
    assert sorted(r["http_status"] for r in rows) == [200, 200, 200, 403, 403, 403]


def test_price_and_context_ceilings(gw):
    key = member_key(gw, "frugal", "fay")
    assert api(gw, "POST", "/api/policies", {"name": "frugal", "scope": "member:fay", "max_input_usd_per_mtok": "1",
                                              "max_context_tokens": 2000})[0] == 201
    assert chat(gw, key, model="gpt-4o-mini").status_code == 200     # $0.15 / M input
    refused = chat(gw, key, model="gpt-4o")                          # $2.50 / M input
    assert refused.status_code == 403
    assert "$2.500000 per million input tokens, above its ceiling of $1.000000" in refused.json()["error"]["message"]
    refused = chat(gw, key, model="gpt-4o-mini", content="word " * 20000)
    assert refused.status_code == 403 and "maximum context of 2000 tokens" in refused.json()["error"]["message"]


def test_environment_policies_apply_by_the_requests_environment(gw):
    key = member_key(gw, "envs", "eve")
    assert api(gw, "POST", "/api/policies", {"name": "personal-no-opus", "scope": "environment:personal",
                                              "deny_models": ["*opus*"]})[0] == 201
    refused = chat(gw, key, model="claude-opus-4-1", headers={"x-strates-environment": "personal"})
    assert refused.status_code == 403 and "personal-no-opus" in refused.json()["error"]["message"]
    # Production traffic is not covered by the personal environment's policy.
    assert chat(gw, key, model="claude-opus-4-1").status_code == 200
    assert api(gw, "DELETE", "/api/policies/personal-no-opus")[0] == 200


def test_sdks_raise_permission_denied_with_the_message(gw):
    key = member_key(gw, "sdk-policy", "pam")
    assert api(gw, "POST", "/api/policies", {"name": "pam-haiku", "scope": "member:pam", "allow_models": ["claude-haiku-*"]})[0] == 201
    with pytest.raises(openai.PermissionDeniedError) as raised:
        openai.OpenAI(base_url=gw.url + "/v1", api_key=key).chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
    assert "Policy 'pam-haiku' (member:pam) does not allow this request" in str(raised.value)
    assert raised.value.code == "model_not_allowed"
    with pytest.raises(anthropic.PermissionDeniedError) as raised:
        anthropic.Anthropic(base_url=gw.url, api_key=key).messages.create(
            model="claude-sonnet-4-5", max_tokens=32, messages=[{"role": "user", "content": "hi"}])
    assert "Policy 'pam-haiku'" in str(raised.value) and "allow list (claude-haiku-*)" in str(raised.value)


def test_a_cli_policy_reaches_the_running_gateway(gw):
    key = member_key(gw, "cli-policies", "cody")
    assert chat(gw, key, model="gpt-4o").status_code == 200
    gw.cli("policies", "set", "cody-mini", "--scope", "member:cody", "--allow", "gpt-4o-mini")
    wait_for(lambda: chat(gw, key, model="gpt-4o").status_code == 403, timeout=5, what="the CLI policy to apply")
    gw.cli("policies", "delete", "cody-mini")
    wait_for(lambda: chat(gw, key, model="gpt-4o").status_code == 200, timeout=5, what="the deletion to apply")


# --- team admins -----------------------------------------------------------------------

@pytest.mark.parametrize("collection, body", [
    ("limits", {"requests_per_minute": 100}),
    ("policies", {"deny_models": ["*opus*"]}),
])
def test_a_team_admin_manages_only_its_teams_rules(gw, collection, body):
    lead = gw.cli("keys", "create", "--admin", "--team", "blue", "--member", f"lead-{collection}", "--quiet").stdout.strip()
    member_key(gw, "red", f"rob-{collection}")
    assert api(gw, "POST", f"/api/{collection}", {"name": f"red-{collection}", "scope": "team:red", **body})[0] == 201
    assert api(gw, "POST", f"/api/{collection}", {"name": f"blue-{collection}", "scope": "team:blue", **body}, key=lead)[0] == 201
    status, listed = api(gw, "GET", f"/api/{collection}", key=lead)
    assert status == 200 and {item["scope"] for item in listed["data"]} == {"team:blue"}
    for method, change in [("GET", None), ("PUT", body), ("PATCH", body), ("DELETE", None)]:
        assert api(gw, method, f"/api/{collection}/red-{collection}", change, key=lead)[0] == 404
    for scope in ["team:red", f"member:rob-{collection}", "organization:default", "environment:personal", "workflow:ci"]:
        status, error = api(gw, "POST", f"/api/{collection}", {"scope": scope, **body}, key=lead)
        assert status == 403 and error["error"]["code"] == "outside_your_team", scope
    assert api(gw, "PATCH", f"/api/{collection}/blue-{collection}", {"scope": "team:red"}, key=lead)[0] == 403
    assert api(gw, "DELETE", f"/api/{collection}/blue-{collection}", key=lead)[0] == 200
    # The organization admin sees both teams'.
    assert f"red-{collection}" in [item["name"] for item in api(gw, "GET", f"/api/{collection}")[1]["data"]]
