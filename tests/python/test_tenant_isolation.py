"""Tenant isolation, tried on every admin route the gateway lists at `GET /api`: a team
admin of one team can neither read nor change anything of another team, and what it tried
leaves the other team's definitions as they were. A route added without a case here fails
this test until it gets one."""
import re
import time

import httpx
import pytest

from conftest import Gateway, api, chat, sim_control_config

CONFIG = sim_control_config({"sim": 2}, ['{name: "gpt-*", provider: sim}'])
PERIOD = time.strftime("%Y-%m", time.gmtime())

# What a blue team admin sends to each create or action route, aimed at team red.
ATTEMPTS = {
    "/api/budgets": {"name": "steal", "scope": "team:red", "period": "month", "limit_usd": 1},
    "/api/limits": {"name": "steal", "scope": "member:rosa", "requests_per_minute": 1},
    "/api/policies": {"name": "steal", "scope": "team:red", "deny_models": ["*"]},
    "/api/grants": {"name": "steal", "scope": "member:rosa", "amount_usd": 1},
    "/api/reserves": {"name": "steal", "scope": "organization:default", "capacity_usd": 1},
    "/api/grants/{rule}/transfer": {"to": "bill", "amount_usd": 1},
    "/api/routes": {"name": "steal", "deployments": [{"provider": "sim"}]},
    "/api/feedback": {"request_id": "{red_request}", "score": 0},
    "/api/outcomes": {"run": "red-run", "kind": "commit", "ref": "stolen"},
    "/api/outcomes/github": {"zen": "Keep it logically awesome."},
}
CHANGE = {"scope": "team:blue", "name": "renamed"}
QUERIES = {"/api/reports/benefits": f"?period={PERIOD}", "/api/feedback": "?run=red-run", "/api/outcomes": "?run=red-run", "/api/reports/flow": "?by=team,member&since=30d"}


@pytest.fixture(scope="module")
def gw(tmp_path_factory):
    gateway = Gateway(tmp_path_factory.mktemp("isolation"), CONFIG)
    yield gateway
    gateway.stop()


@pytest.fixture(scope="module")
def red(gw):
    """Team red's member, rules and usage, made by the organization admin."""
    rosa = gw.cli("keys", "create", "--member", "rosa", "--team", "red", "--environment", "personal", "--quiet").stdout.strip()
    made = {}
    for path, body in [
        ("/api/budgets", {"name": "red-budget", "scope": "team:red", "period": "month", "limit_usd": 100}),
        ("/api/limits", {"name": "rosa-limit", "scope": "member:rosa", "requests_per_minute": 100}),
        ("/api/policies", {"name": "red-policy", "scope": "team:red", "deny_models": ["gpt-5*"]}),
        ("/api/grants", {"name": "rosa-rnd", "scope": "member:rosa", "amount_usd": 20}),
        ("/api/reserves", {"name": "org-reserve", "scope": "organization:default", "capacity_usd": 100000}),
    ]:
        status, rule = api(gw, "POST", path, body)
        assert status == 201, rule
        made[path] = rule
    response = chat(gw, rosa, model="gpt-4o", headers={"x-strates-run": "red-run"})
    assert response.status_code == 200
    gw.wait_rows(1, "member = 'rosa'")
    made["request"] = {"id": response.headers["x-strates-request-id"]}
    return made


def definitions(gw):
    return {path: api(gw, "GET", path)[1]["data"] for path in ("/api/budgets", "/api/limits", "/api/policies", "/api/grants", "/api/reserves")}


def strip_live(definitions):
    """Definitions without what moves with traffic (a budget's spend)."""
    return {path: [{k: v for k, v in item.items() if k != "status"} for item in items] for path, items in definitions.items()}


def test_a_team_admin_cannot_reach_another_teams_anything_on_any_route(gw, red):
    blue_admin = gw.cli("keys", "create", "--admin", "--team", "blue", "--member", "blue-lead", "--quiet").stdout.strip()
    gw.cli("keys", "create", "--member", "bill", "--team", "blue", "--quiet")
    status, listing = api(gw, "GET", "/api")
    assert status == 200
    routes = [(r["method"], r["path"]) for r in listing["data"]]
    assert len(routes) >= 25 and ("GET", "/api/reports/benefits") in routes
    before = strip_live(definitions(gw))
    secrets = ["rosa", "team:red", "red-budget", "rosa-limit", "red-policy", "rosa-rnd", "org-reserve", "red-run"] + [r["id"] for r in red.values()]

    def fill(path):
        collection = "/" + "/".join(path.split("/")[1:3])
        rule = red.get(collection, {}).get("id", "missing")
        return path.replace("{budget}", rule).replace("{rule}", rule).replace("{member}", "rosa")

    tried = 0
    for method, path in routes:
        url = gw.url + fill(path) + QUERIES.get(path, "")
        body = None
        if method == "POST":
            assert path in ATTEMPTS, f"POST {path} is new: add what a team admin would try there to ATTEMPTS"
            body = {k: (red["request"]["id"] if v == "{red_request}" else v) for k, v in ATTEMPTS[path].items()}
        elif method in ("PUT", "PATCH"):
            body = CHANGE
        response = httpx.request(method, url, json=body, headers={"authorization": f"Bearer {blue_admin}"}, timeout=30)
        tried += 1
        if response.status_code == 200:
            assert method == "GET" and not re.search(r"\{\w+\}", path), f"{method} {path} answered 200 to another team's admin"
            leaked = [s for s in secrets if s in response.text]
            assert not leaked, f"GET {path} showed team red's {leaked}"
        else:
            # Errors may echo what the caller sent (an id in its path), never anything else.
            assert response.status_code in (403, 404), f"{method} {path}: {response.status_code} {response.text[:200]}"
    assert tried == len(routes)

    # The usage report refuses another team by name, and nothing of red changed.
    status, error = api(gw, "GET", "/api/usage?team=red", key=blue_admin)
    assert status == 403 and error["error"]["code"] == "outside_your_team"
    assert strip_live(definitions(gw)) == before
    statement = api(gw, "GET", "/api/grants/rosa-rnd/statement")[1]
    assert statement["available"] == "20.000000"
