"""A hostile caller against a live gateway: extreme numbers, upstreams that report nonsense,
clients that hold connections, headers that leak, names that collide. Every case must get a
clear answer in its API's format and leave the gateway serving (checked after each test)."""
import json
import random
import socket
import sqlite3
import time

import httpx
import pytest

from conftest import Gateway, STUB_CONFIG, api, chat, member_key, run_cli

HUGE = 2**63 - 1


@pytest.fixture(scope="module")
def gw(stub, tmp_path_factory):
    config = STUB_CONFIG.format(stub=stub.url).replace(
        "server:\n", "server:\n  idle_timeout_seconds: 2\n  body_timeout_seconds: 2\n  metrics_token_env: STRATES_METRICS_TOKEN\n", 1)
    config = config.replace("ledger:\n", "budgets:\n  reload_seconds: 1\nledger:\n", 1)
    gateway = Gateway(tmp_path_factory.mktemp("hardening"), config, env_extra={"STRATES_METRICS_TOKEN": "m-token"})
    yield gateway
    gateway.stop()


@pytest.fixture(autouse=True)
def still_serving(gw):
    yield
    assert httpx.get(gw.url + "/healthz", timeout=10).status_code == 200, "the gateway stopped answering"


def sim(gw, key, body, path="/v1/chat/completions", headers=None):
    return httpx.post(gw.url + path, headers={"authorization": f"Bearer {key}", **(headers or {})}, json=body, timeout=30)


# C1, M4: output limits near Int64 overflow, and limits that disagree.

@pytest.mark.parametrize("field, value", [("max_tokens", HUGE), ("max_completion_tokens", HUGE), ("max_tokens", 2**62),
                                          ("max_tokens", 10**7), ("max_tokens", -1)])
def test_absurd_output_limits_are_refused_in_the_callers_format(gw, field, value):
    key = member_key(gw, "c1", "carol")
    assert api(gw, "POST", "/api/limits", {"name": "c1-tpm", "scope": "team:c1", "tokens_per_minute": 10**9})[0] in (201, 409)
    response = sim(gw, key, {"model": "sim-a", field: value, "messages": [{"role": "user", "content": "hi"}]})
    assert response.status_code == 400, response.text
    assert response.json()["error"]["type"] == "invalid_request_error"
    anthropic = sim(gw, key, {"model": "sim-a", "max_tokens": value, "messages": [{"role": "user", "content": "hi"}]}, "/v1/messages")
    assert anthropic.status_code == 400 and anthropic.json()["type"] == "error"


def test_disagreeing_output_limits_are_refused(gw):
    response = sim(gw, gw.key, {"model": "sim-a", "max_tokens": 10, "max_completion_tokens": 5000,
                                "messages": [{"role": "user", "content": "hi"}]})
    assert response.status_code == 400 and "max_tokens" in response.json()["error"]["message"]


# C1, H1: control amounts at the edge of Int64 are refused with their range, not accepted.

@pytest.mark.parametrize("path, body, fragment", [
    ("/api/limits", {"name": "x-huge", "scope": "team:x", "tokens_per_minute": HUGE}, "from 1 to"),
    ("/api/budgets", {"name": "x-huge", "scope": "team:x", "period": "day", "limit_usd": 1e300}, "limit"),
    ("/api/budgets", {"name": "x-neg", "scope": "team:x", "period": "day", "limit_usd": -5}, "limit"),
    ("/api/grants", {"name": "x-huge", "scope": "member:x", "amount_usd": 1e17, "period": "month"}, "amount"),
    ("/api/grants", {"name": "x-past", "scope": "member:x", "amount_usd": 5, "period": "month", "starts_at": "0001-01-01"}, "starts_at"),
])
def test_extreme_control_amounts_are_refused(gw, path, body, fragment):
    status, error = api(gw, "POST", path, body)
    assert status == 400, error
    assert fragment in error["error"]["message"]


# M3: an upstream whose usage is negative, absurd or not a number.

@pytest.mark.parametrize("usage", [
    {"prompt_tokens": -5000, "completion_tokens": -7},
    {"prompt_tokens": HUGE, "completion_tokens": HUGE},
    {"prompt_tokens": 1e30, "completion_tokens": 3},
    {"prompt_tokens": "many", "completion_tokens": None},
    {},
    {"input_tokens": -9, "output_tokens": HUGE, "cache_read_input_tokens": -1},
    {"input_tokens": 12.5, "output_tokens": [], "cache_creation_input_tokens": HUGE},
])
@pytest.mark.parametrize("way", ["chat", "chat-stream", "messages", "messages-stream"])
def test_an_upstream_reporting_nonsense_usage_is_estimated_not_believed(gw, usage, way):
    headers = {"x-stub-usage": json.dumps(usage)}
    if way.startswith("chat"):
        body = {"model": "gpt-4o", "max_tokens": 100, "stream": way.endswith("stream"), "stream_options": {"include_usage": True},
                "messages": [{"role": "user", "content": "Plan the next step."}]}
        response = sim(gw, gw.key, body if body["stream"] else {k: v for k, v in body.items() if k != "stream_options"}, headers=headers)
    else:
        body = {"model": "claude-sonnet-4-5", "max_tokens": 100, "stream": way.endswith("stream"),
                "messages": [{"role": "user", "content": "Plan the next step."}]}
        response = sim(gw, gw.key, body, "/v1/messages", headers=dict(headers, **{"anthropic-version": "2023-06-01"}))
    assert response.status_code == 200, response.text
    row = gw.row_for(response.headers["x-strates-request-id"])
    assert 0 <= row["input_tokens"] < 10**9 and 0 <= row["output_tokens"] < 10**9
    assert row["cost_nano"] is None or row["cost_nano"] >= 0
    # Reports over the row still read (a REAL in an integer column once broke them).
    assert api(gw, "GET", "/api/usage?by=model")[0] == 200
    metrics = httpx.get(gw.url + "/metrics", headers={"authorization": "Bearer m-token"}, timeout=10)
    assert metrics.status_code == 200
    samples = [line for line in metrics.text.splitlines() if line and not line.startswith("#")]
    assert samples and all(float(line.split()[-1]) >= 0 for line in samples)


# H4: model names cannot grow /metrics without bound.

def test_model_labels_on_metrics_are_bounded(gw):
    key = member_key(gw, "h4", "hal")
    for index in range(260):
        sim(gw, key, {"model": f"sim-flood-{index}-" + "x" * 40, "max_tokens": 2, "messages": [{"role": "user", "content": "hi"}]})
    text = httpx.get(gw.url + "/metrics", headers={"authorization": "Bearer m-token"}, timeout=10).text
    models = {part.split('"')[1] for line in text.splitlines() for part in line.split(",") if part.startswith("model=") or part.startswith("{model=")}
    assert len({m for m in models if m.startswith("sim-flood-")}) <= 200
    assert 'model="other"' in text


def test_a_huge_model_name_is_refused_and_never_becomes_a_label(gw):
    name = "sim-" + "m" * 300_000
    for path in ["/v1/chat/completions", "/v1/messages"]:
        response = sim(gw, gw.key, {"model": name, "max_tokens": 2, "messages": [{"role": "user", "content": "hi"}]}, path)
        assert response.status_code == 400 and "256" in response.text, response.text[:300]
    text = httpx.get(gw.url + "/metrics", headers={"authorization": "Bearer m-token"}, timeout=10).text
    assert "m" * 300 not in text and len(text) < 5_000_000


# L11: /metrics behind its token when one is configured; unknown routes say where to go.

def test_metrics_asks_for_its_token(gw):
    assert httpx.get(gw.url + "/metrics", timeout=10).status_code == 401
    assert httpx.get(gw.url + "/metrics", headers={"authorization": "Bearer wrong"}, timeout=10).status_code == 401


def test_unknown_routes_answer_in_the_callers_format(gw):
    response = httpx.get(gw.url + "/v2/chat", timeout=10)
    assert response.status_code == 404 and "GET /api lists the admin routes" in response.json()["error"]["message"]
    response = httpx.get(gw.url + "/v1/messages/nope", timeout=10)
    assert response.status_code == 404 and response.json()["type"] == "error"


# M5: connections a client holds without sending are closed.

def test_idle_and_slow_connections_are_closed(gw):
    port = int(gw.url.rsplit(":", 1)[1])
    idle = socket.create_connection(("127.0.0.1", port), timeout=10)
    started = time.time()
    assert idle.recv(100) == b"" and time.time() - started < 8
    half_head = socket.create_connection(("127.0.0.1", port), timeout=10)
    half_head.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n")
    started = time.time()
    assert half_head.recv(100) == b"" and time.time() - started < 8, "a head that never ends is closed"
    slow = socket.create_connection(("127.0.0.1", port), timeout=10)
    slow.sendall(b"POST /v1/messages HTTP/1.1\r\nHost: x\r\ncontent-length: 500\r\n\r\n{\"mod")
    answer = slow.recv(4000)
    assert answer.startswith(b"HTTP/1.1 408") and b'"type":"error"' in answer


# L1: an admin body over 1 MiB is a 413, not a ledger error.

def test_an_oversized_admin_body_is_413(gw):
    response = httpx.post(gw.url + "/api/budgets", headers={"authorization": f"Bearer {gw.admin_key}"},
                          content=b'{"name":"' + b"x" * (2 << 20) + b'"}', timeout=30)
    assert response.status_code == 413 and response.json()["error"]["code"] == "request_too_large"


# H2: a personal key cannot relabel itself out of its controls.

def test_a_personal_key_cannot_leave_its_environment(gw):
    key = gw.cli("keys", "create", "--member", "pia", "--team", "h2", "--environment", "personal", "--quiet").stdout.strip()
    assert api(gw, "POST", "/api/policies", {"name": "h2-personal", "scope": "environment:personal", "deny_models": ["sim-deny*"]})[0] == 201
    for label in ["sandbox", "production"]:
        response = sim(gw, key, {"model": "sim-deny", "max_tokens": 2, "messages": [{"role": "user", "content": "hi"}]},
                       headers={"x-strates-environment": label})
        assert response.status_code == 403, (label, response.text)
    assert api(gw, "DELETE", "/api/policies/h2-personal")[0] == 200


# L7, L8: what belongs to the provider account or to Strates does not cross.

def test_account_headers_and_keys_do_not_cross(gw, stub):
    response = chat(gw, gw.key, headers={"x-stub-scenario": "leaky-headers", "openai-organization": "org-victim",
                                         "x-goog-api-key": gw.key, "x-custom": "prefix " + gw.key})
    assert response.status_code == 200
    assert "openai-organization" not in response.headers and "set-cookie" not in response.headers
    sent = stub.last("/v1/chat/completions")["headers"]
    assert "openai-organization" not in sent and "x-goog-api-key" not in sent and "x-custom" not in sent
    assert not any("sk-strates-" in value for value in sent.values())


# M2, L4: names that pose as ids or carry control characters are refused.

@pytest.mark.parametrize("name", ["budget_0123456789abcdef", "a\nb", "x" * 300, "tab\there"])
def test_rule_names_must_be_names(gw, name):
    status, error = api(gw, "POST", "/api/budgets", {"name": name, "scope": "team:x", "period": "day", "limit_usd": 5})
    assert status == 400, error
    assert "\n" not in error["error"]["message"]


# M1: a team admin governs only members whose live keys are all the team's.

def test_a_team_admin_cannot_reach_a_member_of_another_team(gw):
    gw.cli("keys", "create", "--member", "mona", "--team", "red", "--quiet")
    red_admin = gw.cli("keys", "create", "--member", "ray", "--team", "red", "--admin", "--quiet").stdout.strip()
    blue = gw.cli("keys", "create", "--member", "bea", "--team", "blue", "--name", "bea-old", "--quiet").stdout.strip()
    gw.cli("keys", "revoke", "bea-old")
    gw.cli("keys", "create", "--member", "bea", "--team", "red", "--name", "bea-red-old", "--quiet")
    gw.cli("keys", "create", "--member", "bea", "--team", "blue", "--quiet")
    assert blue
    budget = {"scope": "member:mona", "period": "day", "limit_usd": 1}
    assert api(gw, "POST", "/api/budgets", dict(budget, name="m1-mona"), key=red_admin)[0] == 201
    status, error = api(gw, "POST", "/api/budgets", dict(budget, name="m1-bea", scope="member:bea"), key=red_admin)
    assert status == 403 and error["error"]["code"] == "outside_your_team"


# L6: path parameters are percent-decoded.

def test_path_parameters_are_decoded(gw):
    assert api(gw, "POST", "/api/budgets", {"name": "l6.budget", "scope": "team:x", "period": "day", "limit_usd": 5})[0] == 201
    assert api(gw, "GET", "/api/budgets/l6%2Ebudget")[0] == 200


# L9, L10: the CLI refuses keys born expired and ledgers that are not there.

def test_the_cli_refuses_an_expired_key_and_a_missing_ledger(gw, tmp_path):
    made = gw.cli("keys", "create", "--member", "late", "--expires", "2001-01-01", check=False)
    assert made.returncode != 0 and "already past" in made.stderr
    missing = run_cli("usage", "--database", str(tmp_path / "typo.db"), env=gw.env, check=False)
    assert missing.returncode != 0 and "no ledger" in missing.stderr.lower()
    assert not (tmp_path / "typo.db").exists()


# M6: the simulated provider's header knobs are bounded.

def test_sim_header_knobs_are_bounded(gw):
    response = sim(gw, gw.key, {"model": "sim-a", "messages": [{"role": "user", "content": "hi"}]},
                   headers={"x-sim-output-tokens": str(HUGE), "x-sim-tokens-per-second": "1000000"})
    assert response.status_code == 200
    assert 0 < response.json()["usage"]["completion_tokens"] <= 131072


# Seeded fuzz over every admin route: random bodies never crash and always get JSON.

def test_admin_routes_survive_random_bodies(gw):
    routes = api(gw, "GET", "/api")[1]["data"]
    rng = random.Random(23)
    values = [HUGE, -HUGE, 1e308, -1, 0, "", "x" * 5000, None, True, [], {}, "team:x", "member:" + "y" * 300,
              "2026-13-45", "0001-01-01", "\u0000\n", "budget_0123456789abcdef"]
    fields = ["name", "scope", "period", "limit_usd", "limit_tokens", "amount_usd", "amount_tokens", "requests_per_minute",
              "tokens_per_minute", "to", "starts_at", "expires_at", "capacity_usd", "production_share", "allow_models",
              "deny_models", "rollover", "time_zone", "enforcement", "models", "outcome", "run", "score"]
    for _ in range(400):
        route = rng.choice(routes)
        path = route["path"].replace(":budget", "b").replace(":rule", "r").replace(":member", "m")
        body = {rng.choice(fields): rng.choice(values) for _ in range(rng.randint(0, 6))}
        response = httpx.request(route["method"], gw.url + path, json=body, timeout=30,
                                 headers={"authorization": f"Bearer {gw.admin_key}"})
        assert response.status_code < 500, (route, body, response.text)
        if response.headers.get("content-type", "").startswith("application/json"):
            response.json()


# L5: a cut stream of a request that reasons is charged its limit, not its visible text.

def test_a_cut_reasoning_stream_is_estimated_at_its_limit(gw):
    with httpx.stream("POST", gw.url + "/v1/chat/completions", timeout=30,
                      headers={"authorization": f"Bearer {gw.key}", "x-stub-scenario": "cut"},
                      json={"model": "o4-mini", "stream": True, "max_completion_tokens": 3000,
                            "messages": [{"role": "user", "content": "think"}]}) as response:
        request_id = response.headers["x-strates-request-id"]
        try:
            for _ in response.iter_bytes():
                pass
        except httpx.HTTPError:
            pass
    row = gw.row_for(request_id)
    assert row["status"] == "cut" and row["usage_estimated"] == 1
    assert row["output_tokens"] == 3000 and 2900 < row["reasoning_tokens"] < 3000


# H1: a grant whose statement once overflowed on every read (written before the API bounded
# amounts) still reads, serves its member and reports, also across a restart.

def test_a_huge_full_rollover_grant_in_the_ledger_cannot_crash_anything(gw):
    key = gw.cli("keys", "create", "--member", "gus", "--team", "h1", "--environment", "personal", "--quiet").stdout.strip()
    grant = {"name": "h1-grant", "scope": "member:gus", "amount_usd": 5, "period": "month", "rollover": "full"}
    assert api(gw, "POST", "/api/grants", grant)[0] == 201
    gw.stop()
    connection = sqlite3.connect(gw.db, timeout=10)
    with connection:
        changed = connection.execute(
            "UPDATE control_rules SET definition = json_set(definition, '$.amount', 9223372036854775807, '$.startsAt', 946684800000) "
            "WHERE name = 'h1-grant'").rowcount
    connection.close()
    assert changed == 1
    gw.start()
    status, listed = api(gw, "GET", "/api/grants")
    assert status == 200 and any(g["name"] == "h1-grant" for g in listed["data"])
    response = chat(gw, key, max_tokens=5)  # a priced model: a dollar grant can cover it
    assert response.status_code == 200, response.text
    assert gw.row_for(response.headers["x-strates-request-id"])["grant_id"] is not None
    assert "h1-grant" in gw.cli("grants").stdout
    assert gw.cli("report", "benefits").returncode == 0


# M3: negative usage from an upstream is no budget credit, before or after a restart.

def test_negative_usage_is_no_budget_credit(gw):
    key = gw.cli("keys", "create", "--member", "neg", "--team", "m3", "--quiet").stdout.strip()
    assert api(gw, "POST", "/api/budgets", {"name": "m3-tokens", "scope": "team:m3", "period": "day", "limit_tokens": 1000})[0] == 201
    time.sleep(1.5)  # the gateway reads budget definitions every second here
    for _ in range(3):
        response = chat(gw, key, headers={"x-stub-usage": json.dumps({"prompt_tokens": -10**12, "completion_tokens": -10**12})})
        assert response.status_code == 200
    budget = api(gw, "GET", "/api/budgets/m3-tokens")[1]
    assert 0 <= budget["status"]["spent"] <= 1000, budget
    rows = gw.rows("team = 'm3'")
    assert rows and all(r["usage_estimated"] == 1 and r["input_tokens"] >= 0 and (r["cost_nano"] or 0) >= 0 for r in rows)


# H3: no log level prints a credential: provider keys, the webhook secret, the metrics token.

def test_trace_logging_prints_no_secret(stub, tmp_path):
    secrets = {"TRACE_OPENAI_KEY": "sk-provider-key-that-must-not-print", "TRACE_HOOK": "hook-secret-that-must-not-print",
               "TRACE_METRICS": "metrics-token-that-must-not-print"}
    config = (f"log_level: trace\nserver:\n  metrics_token_env: TRACE_METRICS\n"
              f"outcomes: {{github_webhook_secret_env: TRACE_HOOK, github_repositories: {{'*': ['*']}}}}\n"
              f"providers:\n  openai:\n    kind: openai\n    base_url: {stub.url}/v1\n    api_key_env: TRACE_OPENAI_KEY\n"
              f"  literal:\n    kind: anthropic\n    base_url: {stub.url}/v1\n    api_key: sk-ant-literal-that-must-not-print\n    allow_plaintext_key: true\n"
              f"    headers: {{x-extra-credential: header-secret-that-must-not-print}}\n"
              f"models:\n  - {{name: 'gpt-*', provider: openai}}\n  - {{name: 'claude-*', provider: literal}}\n")
    gateway = Gateway(tmp_path, config, env_extra=secrets)
    try:
        assert chat(gateway, gateway.key).status_code == 200
        assert httpx.post(gateway.url + "/v1/messages", timeout=30, headers={"x-api-key": gateway.key, "anthropic-version": "2023-06-01"},
                          json={"model": "claude-sonnet-4-5", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}).status_code == 200
    finally:
        gateway.stop()
    log = "".join(gateway.process.output)
    assert "Starting service" in log or "trace" in log.lower(), "the gateway did not log at trace level"
    for secret in [*secrets.values(), "sk-ant-literal-that-must-not-print", "header-secret-that-must-not-print", gateway.key]:
        assert secret not in log, f"the log printed a credential ({secret[:8]}…)"
