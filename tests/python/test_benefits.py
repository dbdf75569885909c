"""The benefits report on a live gateway: personal use priced at list and at contract cost,
grants used and unused, as CSV for payroll from the CLI and as JSON or CSV from the API,
with team admins seeing their own team's members only."""
import csv
import io
import json
import time

import httpx
import openai
import pytest

from conftest import Gateway, api, sim_control_config

# The simulator is priced as the model it stands in for; the contract takes 20 % off list.
CONFIG = sim_control_config({"sim": 2}, ['{name: "gpt-*", provider: sim}']) + 'prices:\n  discounts: {sim: "20"}\n'
PERIOD = time.strftime("%Y-%m", time.gmtime())


@pytest.fixture(scope="module")
def gw(tmp_path_factory):
    gateway = Gateway(tmp_path_factory.mktemp("benefits"), CONFIG)
    yield gateway
    gateway.stop()


def key(gw, member, team, environment="personal"):
    return gw.cli("keys", "create", "--member", member, "--team", team, "--environment", environment, "--quiet").stdout.strip()


def ask(gw, key_text, n=1):
    client = openai.OpenAI(api_key=key_text, base_url=gw.url + "/v1", max_retries=0)
    ids = []
    for _ in range(n):
        raw = client.chat.completions.with_raw_response.create(model="gpt-4o", max_tokens=200, messages=[{"role": "user", "content": "Write a haiku."}])
        ids.append(raw.headers["x-strates-request-id"])
    return ids


@pytest.fixture(scope="module")
def usage(gw):
    assert api(gw, "POST", "/api/grants", {"name": "ana-rnd", "scope": "member:ana", "amount_usd": 50})[0] == 201
    assert api(gw, "POST", "/api/grants", {"name": "bo-rnd", "scope": "member:bo", "amount_tokens": 1000000})[0] == 201
    ana = ask(gw, key(gw, "ana", "platform"), 3)
    ask(gw, key(gw, "ana", "platform", environment="production"), 2)  # not personal use
    cy = ask(gw, key(gw, "cy", "design"), 1)
    key(gw, "bo", "platform")
    rows = {r["id"]: r for r in gw.wait_rows(6)}
    return {"ana": [rows[i] for i in ana], "cy": [rows[i] for i in cy]}


def test_csv_for_payroll_prices_personal_use_at_list_and_contract(gw, usage):
    out = gw.cli("report", "benefits", "--period", PERIOD, "--format", "csv").stdout
    table = list(csv.DictReader(io.StringIO(out)))
    by_member = {row["member"]: row for row in table}
    assert set(by_member) == {"ana", "bo", "cy"}

    ana, ana_rows = by_member["ana"], usage["ana"]
    contract = sum(r["cost_nano"] for r in ana_rows)
    assert ana["period"] == PERIOD and ana["teams"] == "platform" and int(ana["personal_requests"]) == 3
    assert int(ana["personal_tokens"]) == sum(r["input_tokens"] + r["output_tokens"] for r in ana_rows)
    assert round(float(ana["contract_cost_usd"]) * 1e9) == contract
    # List price is the contract cost without the 20 % discount (each request rounded once).
    list_value = round(float(ana["list_value_usd"]) * 1e9)
    assert abs(list_value * 0.8 - contract) <= 3 and list_value > contract
    assert round(float(ana["discount_usd"]) * 1e9) == list_value - contract
    # Every personal request drew from the grant, at contract cost.
    assert all(r["grant_id"] for r in ana_rows)
    assert ana["grant_usd_granted"] == "50.000000" and round(float(ana["grant_usd_used"]) * 1e9) == contract
    assert round(float(ana["grant_usd_unused"]) * 1e9) == 50_000_000_000 - contract
    assert ana["grants"] == "ana-rnd" and ana["grant_usd_lapsed"] == "0.000000"  # the month is not over yet
    # A member with a grant and no use is on the report for payroll; one without a grant too.
    assert by_member["bo"]["personal_requests"] == "0" and by_member["bo"]["grant_tokens_unused"] == "1000000"
    assert by_member["cy"]["grants"] == "" and int(by_member["cy"]["personal_requests"]) == 1

    listed = gw.cli("report", "benefits", "--period", PERIOD).stdout
    assert "TOTAL" in listed and "ana" in listed
    failed = gw.cli("report", "benefits", "--period", "2026-13", check=False)
    assert failed.returncode != 0 and "a month (2026-11) or a year (2026)" in failed.stderr
    empty = gw.cli("report", "benefits", "--period", "2019-01").stdout
    assert "No personal use" in empty


def test_api_report_in_json_and_csv_and_team_scoped(gw, usage):
    status, report = api(gw, "GET", f"/api/reports/benefits?period={PERIOD}")
    assert status == 200, report
    members = {m["member"]: m for m in report["members"]}
    assert members["ana"]["personal_requests"] == 3 and members["ana"]["grants_usd"]["granted"] == "50.000000"
    assert report["totals"]["personal_requests"] == 4 and report["grant_purpose"] == "benefit"

    response = httpx.get(gw.url + f"/api/reports/benefits?period={PERIOD}&format=csv", headers={"authorization": f"Bearer {gw.admin_key}"})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    assert response.text.splitlines()[0].startswith("period,member,teams,personal_requests")

    lead = gw.cli("keys", "create", "--admin", "--team", "platform", "--member", "platform-lead", "--quiet").stdout.strip()
    status, scoped = api(gw, "GET", f"/api/reports/benefits?period={PERIOD}", key=lead)
    assert status == 200 and {m["member"] for m in scoped["members"]} == {"ana", "bo"}

    for query, text in [("", "'period' is required"), ("?period=Nov", "not valid"), (f"?period={PERIOD}&time_zone=Mars/Base", "IANA"),
                        (f"?period={PERIOD}&format=xml", "json or csv")]:
        status, error = api(gw, "GET", "/api/reports/benefits" + query)
        assert status == 400 and text in error["error"]["message"], (query, error)
    member_key = key(gw, "dee", "platform")
    assert api(gw, "GET", f"/api/reports/benefits?period={PERIOD}", key=member_key)[0] == 403
    assert json.loads(gw.cli("report", "benefits", "--period", PERIOD, "--team", "design", "--format", "json").stdout)["members"][0]["member"] == "cy"
