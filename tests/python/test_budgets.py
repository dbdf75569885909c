"""Budgets on a live gateway: the admin API and CLI, a hard budget under 256 concurrent
requests, the SDKs' own errors, alerts delivered once to webhooks, and team admins kept
to their team."""
import asyncio
import http.server
import json
import threading
import time

import anthropic
import httpx
import openai
import pytest

from conftest import Gateway, api, chat, member_key, wait_for

CONFIG = """
ledger:
  flush_interval_ms: 50
budgets:
  reload_seconds: 1
alerts:
  webhooks:
    - {{url: "http://127.0.0.1:{port}/json"}}
    - {{url: "http://127.0.0.1:{port}/slack", format: slack}}
providers:
  sim:
    kind: sim
    latency_ms: 20
    output_tokens: {{min: 5, max: 40}}
models:
  - {{name: "gpt-*", provider: sim}}
  - {{name: "claude-*", provider: sim}}
"""


class Receiver(http.server.ThreadingHTTPServer):
    """A webhook receiver on loopback that keeps what it is sent."""

    def __init__(self):
        self.received = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["content-length"]))
                outer.received.append((self.path, json.loads(body)))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    def of(self, path):
        return [body for p, body in self.received if p == path]


@pytest.fixture(scope="module")
def receiver():
    server = Receiver()
    yield server
    server.shutdown()


@pytest.fixture(scope="module")
def gw(receiver, tmp_path_factory):
    gateway = Gateway(tmp_path_factory.mktemp("budgets"), CONFIG.format(port=receiver.server_address[1]))
    yield gateway
    gateway.stop()


def team_cost(gw, team):
    return sum(r["cost_nano"] or 0 for r in gw.rows("team = ?", (team,)))


def test_admin_api_creates_shows_changes_and_deletes_budgets(gw):
    status, created = api(gw, "POST", "/api/budgets", {"name": "crud", "scope": "team:crud", "period": "month", "limit_usd": "12.5",
                                                        "time_zone": "Europe/Paris", "alert_thresholds": [50, 90]})
    assert status == 201, created
    assert created["limit"] == 12_500_000_000 and created["unit"] == "usd" and created["time_zone"] == "Europe/Paris"
    assert created["status"]["spent"] == 0 and created["status"]["resets_at"].endswith("T23:00:00Z")
    status, listed = api(gw, "GET", "/api/budgets")
    assert status == 200 and "crud" in [b["name"] for b in listed["data"]]
    status, changed = api(gw, "PATCH", "/api/budgets/crud", {"limit_usd": 20, "when_exhausted": "cap"})
    assert status == 200 and changed["limit"] == 20_000_000_000 and changed["when_exhausted"] == "cap" and changed["period"] == "month"
    status, shown = api(gw, "GET", f"/api/budgets/{created['id']}")
    assert status == 200 and shown["name"] == "crud" and shown["limit"] == 20_000_000_000
    # The CLI reads the same definitions.
    assert "crud" in gw.cli("budgets", "list").stdout
    assert api(gw, "DELETE", "/api/budgets/crud") == (200, {"id": created["id"], "deleted": True})
    assert api(gw, "GET", "/api/budgets/crud")[0] == 404


@pytest.mark.parametrize("body, fragments", [
    ({"scope": "planet:mars", "limit_usd": "1"}, ["planet:mars"]),
    ({"scope": "team:x", "period": "fortnight", "limit_usd": "1"}, ["fortnight"]),
    ({"scope": "team:x"}, ["limit"]),
    ({"scope": "team:x", "limit_usd": "1", "limit_tokens": 5}, ["not both"]),
    ({"scope": "team:x", "limit_usd": "-3"}, ["limit_usd '-3' is not a positive amount"]),
    ({"scope": "team:x", "limit_tokens": 0}, ["greater than zero"]),
    ({"scope": "team:x", "limit_usd": "1", "time_zone": "Mars/Olympus"}, ["Mars/Olympus"]),
    ({"scope": "team:x", "limit_tokens": "many"}, ["limit_tokens"]),
    ({"scope": "team:x", "limit_usd": "1", "colour": "red"}, ["colour"]),
])
def test_invalid_budgets_are_refused_with_what_is_wrong(gw, body, fragments):
    status, error = api(gw, "POST", "/api/budgets", body)
    assert status == 400, error
    for fragment in fragments:
        assert fragment in error["error"]["message"]


def test_budget_api_needs_an_admin_key_and_unique_names(gw):
    assert api(gw, "GET", "/api/budgets", key=gw.key)[0] == 403
    assert api(gw, "GET", "/api/budgets", key="sk-strates-nope")[0] == 401
    assert api(gw, "POST", "/api/budgets", {"name": "dup", "scope": "team:d", "limit_tokens": 10})[0] == 201
    status, error = api(gw, "POST", "/api/budgets", {"name": "dup", "scope": "team:e", "limit_tokens": 10})
    assert status == 409 and "dup" in error["error"]["message"]
    response = httpx.post(gw.url + "/api/budgets", content=b"{not json", headers={"authorization": f"Bearer {gw.admin_key}"})
    assert response.status_code == 400 and "JSON object" in response.json()["error"]["message"]


@pytest.mark.parametrize("mode", ["reject", "cap"])
def test_a_hard_budget_holds_under_256_concurrent_requests(gw, mode):
    team = f"race-{mode}"
    key = member_key(gw, team, f"racer-{mode}")
    status, budget = api(gw, "POST", "/api/budgets", {"name": team, "scope": f"team:{team}", "period": "day", "limit_usd": "1",
                                                       "when_exhausted": mode, "alert_thresholds": []})
    assert status == 201
    for _ in range(10):
        assert chat(gw, key).status_code == 200
    spent = wait_for(lambda: api(gw, "GET", f"/api/budgets/{team}")[1]["status"]["spent"] or None, what="spend to settle")
    # Nearly spent: room for about four requests' worst case (100 output tokens at $10/M = $0.001 each).
    limit = spent + 4_500_000
    assert api(gw, "PATCH", f"/api/budgets/{team}", {"limit_usd": f"{limit / 1e9:.9f}"})[0] == 200

    async def burst():
        async with httpx.AsyncClient(limits=httpx.Limits(max_connections=256), timeout=60) as client:
            async def one():
                return await client.post(gw.url + "/v1/chat/completions", headers={"authorization": f"Bearer {key}"},
                                         json={"model": "gpt-4o", "max_tokens": 100, "messages": [{"role": "user", "content": "Go."}]})
            return await asyncio.gather(*[one() for _ in range(256)])

    responses = asyncio.run(burst())
    statuses = [r.status_code for r in responses]
    assert set(statuses) <= {200, 429}, statuses
    assert statuses.count(200) >= 4 and statuses.count(429) >= 100
    for refused in (r for r in responses if r.status_code == 429):
        error = refused.json()["error"]
        assert error["code"] == "budget_exceeded" and f"Budget '{team}'" in error["message"]
        assert refused.headers["x-should-retry"] == "false"
    if mode == "cap":
        capped = [r for r in responses if r.status_code == 200 and "x-strates-max-tokens-capped" in r.headers]
        for response in capped:
            assert response.json()["usage"]["completion_tokens"] <= int(response.headers["x-strates-max-tokens-capped"])
    gw.wait_rows(10 + 256, "team = ?", (team,))
    total = team_cost(gw, team)
    assert total <= limit, f"spent {total} nano-USD against a limit of {limit}"
    # The budget's own count agrees with the ledger once everything has settled.
    wait_for(lambda: api(gw, "GET", f"/api/budgets/{team}")[1]["status"]["reserved"] == 0, what="reservations to settle")
    assert api(gw, "GET", f"/api/budgets/{team}")[1]["status"]["spent"] == total


def test_sdks_raise_their_own_rate_limit_error_and_do_not_retry(gw):
    key = member_key(gw, "broke", "spender")
    assert api(gw, "POST", "/api/budgets", {"name": "broke-daily", "scope": "member:spender", "period": "day", "limit_tokens": 5})[0] == 201
    with pytest.raises(openai.RateLimitError) as raised:
        openai.OpenAI(base_url=gw.url + "/v1", api_key=key).chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
    assert "Budget 'broke-daily' (member:spender, day) cannot cover this request" in str(raised.value)
    assert raised.value.code == "budget_exceeded"
    with pytest.raises(anthropic.RateLimitError) as raised:
        anthropic.Anthropic(base_url=gw.url, api_key=key).messages.create(
            model="claude-sonnet-4-5", max_tokens=64, messages=[{"role": "user", "content": "hi"}])
    assert "Budget 'broke-daily'" in str(raised.value) and "resets at" in str(raised.value)
    # Both SDKs retry 429s by default; x-should-retry: false made each try once.
    rows = gw.wait_rows(2, "member = ?", ("spender",))
    time.sleep(0.5)
    assert len(gw.rows("member = ?", ("spender",))) == 2
    assert all(r["status"] == "rejected" and r["http_status"] == 429 and r["cost_nano"] == 0 for r in rows)


def test_a_cli_change_reaches_the_running_gateway(gw):
    key = member_key(gw, "cli-team", "cli-user")
    assert chat(gw, key).status_code == 200
    gw.cli("budgets", "set", "cli-tight", "--scope", "team:cli-team", "--period", "day", "--limit-tokens", "1")
    wait_for(lambda: chat(gw, key).status_code == 429, timeout=5, what="the CLI budget to apply")
    gw.cli("budgets", "delete", "cli-tight")
    wait_for(lambda: chat(gw, key).status_code == 200, timeout=5, what="the deletion to apply")


def test_alerts_go_out_once_per_threshold_to_each_webhook(gw, receiver):
    key = member_key(gw, "alerting", "watcher")
    assert api(gw, "POST", "/api/budgets", {"name": "alerting-soft", "scope": "team:alerting", "period": "day", "limit_tokens": 400,
                                             "enforcement": "soft", "alert_thresholds": [50, 100]})[0] == 201

    def alerts():
        return [b for b in receiver.of("/json") if b["budget"]["name"] == "alerting-soft"]

    for _ in range(40):
        assert chat(gw, key, max_tokens=20).status_code == 200   # soft: never refused
        if len(alerts()) >= 2:
            break
    wait_for(lambda: len(alerts()) >= 2, what="two alerts")
    for _ in range(5):
        assert chat(gw, key, max_tokens=20).status_code == 200
    time.sleep(1)
    sent = alerts()
    assert sorted(a["threshold_percent"] for a in sent) == [50, 100]
    assert all(a["type"] == "budget.threshold_reached" and a["unit"] == "tokens" and a["limit"] == 400 for a in sent)
    slack = [b for b in receiver.of("/slack") if "alerting-soft" in b["text"]]
    assert len(slack) == 2 and all(b["text"].startswith(":warning: Strates: Budget 'alerting-soft'") for b in slack)
    # A restart does not send them again.
    gw.stop()
    gw.start()
    assert chat(gw, key, max_tokens=20).status_code == 200
    time.sleep(1)
    assert len(alerts()) == 2


def test_a_team_admin_sees_and_changes_only_its_team(gw):
    lead = gw.cli("keys", "create", "--admin", "--team", "platform", "--member", "lead", "--quiet").stdout.strip()
    member_key(gw, "research", "bob")
    assert api(gw, "POST", "/api/budgets", {"name": "research-monthly", "scope": "team:research", "limit_usd": "100"})[0] == 201
    assert api(gw, "POST", "/api/budgets", {"name": "platform-monthly", "scope": "team:platform", "limit_usd": "100"})[0] == 201
    assert chat(gw, gw.key).status_code == 200   # some platform usage to read back

    status, listed = api(gw, "GET", "/api/budgets", key=lead)
    assert status == 200 and {b["scope"] for b in listed["data"]} == {"team:platform"}
    for method, body in [("GET", None), ("PUT", {"limit_usd": "1"}), ("PATCH", {"limit_usd": "1"}), ("DELETE", None)]:
        assert api(gw, method, "/api/budgets/research-monthly", body, key=lead)[0] == 404
    for scope in ["team:research", "member:bob", "organization:default", "environment:personal", "workflow:ci"]:
        status, error = api(gw, "POST", "/api/budgets", {"scope": scope, "limit_usd": "1"}, key=lead)
        assert status == 403 and error["error"]["code"] == "outside_your_team", scope
    # Moving its own budget to another team is refused too.
    assert api(gw, "PATCH", "/api/budgets/platform-monthly", {"scope": "team:research"}, key=lead)[0] == 403
    assert api(gw, "POST", "/api/budgets", {"name": "alice-own", "scope": "member:alice", "limit_usd": "5"}, key=lead)[0] == 201
    assert api(gw, "PATCH", "/api/budgets/platform-monthly", {"limit_usd": "150"}, key=lead)[0] == 200
    assert api(gw, "DELETE", "/api/budgets/alice-own", key=lead)[0] == 200

    response = httpx.get(gw.url + "/api/usage?team=research", headers={"authorization": f"Bearer {lead}"})
    assert response.status_code == 403
    response = httpx.get(gw.url + "/api/usage?by=team", headers={"authorization": f"Bearer {lead}"})
    assert response.status_code == 200 and {row["group"]["team"] for row in response.json()["rows"]} == {"platform"}
    # The organization admin still sees every team.
    response = httpx.get(gw.url + "/api/usage?by=team", headers={"authorization": f"Bearer {gw.admin_key}"})
    assert {"platform", "race-reject"} <= {row["group"]["team"] for row in response.json()["rows"]}


def test_a_budget_downgrades_to_a_cheaper_model_as_it_nears_exhaustion(gw):
    key = member_key(gw, "thrifty", "theo")
    # gpt-4o: about $0.001 per request here (100 output tokens at $10/M); the budget is $0.01.
    status, budget = api(gw, "POST", "/api/budgets", {"name": "thrifty", "scope": "team:thrifty", "period": "day", "limit_usd": "0.01",
                                                       "downgrade_to": "gpt-4o-mini", "downgrade_at": 50, "alert_thresholds": []})
    assert status == 201 and budget["downgrade_to"] == "gpt-4o-mini" and budget["downgrade_at"] == 50
    served = []
    for _ in range(30):
        response = chat(gw, key, max_tokens=100)
        assert response.status_code == 200, response.text
        served.append(response.headers.get("x-strates-downgraded-to"))
        time.sleep(0.05)   # let each settle, so the budget's count moves
    first = served.index("gpt-4o-mini")
    assert first >= 2 and all(model is None for model in served[:first]) and all(m == "gpt-4o-mini" for m in served[first:]), served
    rows = gw.wait_rows(30, "team = ?", ("thrifty",))
    downgraded = [r for r in rows if r["downgraded_by"]]
    assert len(downgraded) == 30 - first
    assert all(r["downgraded_by"] == "thrifty" and r["requested_model"] == "gpt-4o" and r["served_model"] == "gpt-4o-mini" for r in downgraded)
    # Downgraded requests are priced (and counted) at the cheaper model.
    assert max(r["cost_nano"] for r in downgraded) < min(r["cost_nano"] for r in rows if not r["downgraded_by"])
    assert team_cost(gw, "thrifty") <= 10_000_000
    # Removing the downgrade (null) restores the requested model while the budget has room.
    assert api(gw, "PATCH", "/api/budgets/thrifty", {"downgrade_to": None, "limit_usd": "1"})[1]["downgrade_to"] is None
    assert "x-strates-downgraded-to" not in chat(gw, key).headers
