"""Grants (allowances) on a live gateway: personal use draws from a member's grants,
refusals the official SDKs raise as their own RateLimitError, balances through the API and
the CLI, transfers between members, and team admins kept to their team's members."""
import json

import anthropic
import openai
import pytest

from conftest import sim_control_config, Gateway, api, wait_for

CONFIG = sim_control_config({"sim": 2}, ['{name: "gpt-*", provider: sim}', '{name: "claude-*", provider: sim}'])


@pytest.fixture(scope="module")
def gw(tmp_path_factory):
    gateway = Gateway(tmp_path_factory.mktemp("grants"), CONFIG)
    yield gateway
    gateway.stop()


def personal_key(gw, member, team="platform"):
    return gw.cli("keys", "create", "--member", member, "--team", team, "--environment", "personal", "--quiet").stdout.strip()


def openai_client(gw, key):
    return openai.OpenAI(api_key=key, base_url=gw.url + "/v1", max_retries=0)


def ask(client, max_tokens=50, **extra):
    return client.chat.completions.with_raw_response.create(
        model="gpt-4o-mini", max_tokens=max_tokens, messages=[{"role": "user", "content": "hi"}], **extra)


def test_personal_use_draws_from_the_grant_until_it_is_spent(gw):
    key = personal_key(gw, "gina")
    status, grant = api(gw, "POST", "/api/grants", {"name": "gina-rnd", "scope": "member:gina", "amount_tokens": 2000})
    assert status == 201, grant
    assert grant["unit"] == "tokens" and grant["period"] == "month" and grant["rollover"] == "none"
    client = openai_client(gw, key)
    first = ask(client, max_tokens=100)
    row = gw.row_for(first.headers["x-strates-request-id"])
    assert row["grant_id"] == grant["id"] and row["environment"] == "personal"
    used = row["input_tokens"] + row["output_tokens"]

    status, statement = api(gw, "GET", "/api/grants/gina-rnd/statement")
    assert status == 200, statement
    assert statement["used"] == used and statement["balance"] == 2000 - used and statement["state"] == "active"
    assert statement["expiring"]["amount"] == 2000 - used  # rollover none: it all lapses at month end

    # A request whose estimate does not fit is refused in OpenAI's shape, as the SDK's RateLimitError.
    with pytest.raises(openai.RateLimitError) as refused:
        ask(client, max_tokens=5000)
    body = refused.value.response.json()["error"]
    assert body["code"] == "grant_exhausted" and "gina-rnd" in body["message"]
    assert refused.value.response.headers["x-should-retry"] == "false"
    assert refused.value.response.headers["x-strates-grant"] == "gina-rnd"
    # Production traffic of the same member is not drawn from the grant.
    prod = gw.cli("keys", "create", "--member", "gina", "--team", "platform", "--quiet").stdout.strip()
    ok = ask(openai_client(gw, prod), max_tokens=5000)
    assert gw.row_for(ok.headers["x-strates-request-id"])["grant_id"] is None


def test_anthropic_clients_get_their_own_error_shape(gw):
    key = personal_key(gw, "hugo")
    assert api(gw, "POST", "/api/grants", {"name": "hugo-small", "scope": "member:hugo", "amount_usd": "0.0001"})[0] == 201
    client = anthropic.Anthropic(api_key=key, base_url=gw.url, max_retries=0)
    with pytest.raises(anthropic.RateLimitError) as refused:
        client.messages.create(model="claude-sonnet-4-5", max_tokens=4000, messages=[{"role": "user", "content": "hi"}])
    error = refused.value.response.json()
    assert error["type"] == "error" and error["error"]["type"] == "rate_limit_error"
    assert "hugo-small" in error["error"]["message"] and "$0.000100 left" in error["error"]["message"]


def test_transfers_move_balance_between_members_and_show_in_statements(gw):
    personal_key(gw, "ivy")
    key_jon = personal_key(gw, "jon")
    api(gw, "POST", "/api/grants", {"name": "ivy-rnd", "scope": "member:ivy", "amount_usd": 50, "rollover": "capped", "rollover_cap": 10})
    status, moved = api(gw, "POST", "/api/grants/ivy-rnd/transfer", {"to": "jon", "amount_usd": "20", "note": "pairing"})
    assert status == 201, moved
    assert moved["from"]["adjustments"][0]["amount"] == "-20.000000" and "pairing" in moved["from"]["adjustments"][0]["note"]
    received = moved["to"]
    assert received["member"] == "jon" and received["period"] == "once" and received["transferred_from"] == moved["from"]["id"]
    assert received["expires_at"] is not None  # capped rollover: the gift lapses at the end of the giver's period

    ivy = api(gw, "GET", "/api/members/ivy/grants")[1]["data"]
    assert [s["balance"] for s in ivy] == ["30.000000"]
    # Jon's personal use now draws from what he received.
    response = ask(openai_client(gw, key_jon), max_tokens=50)
    assert gw.row_for(response.headers["x-strates-request-id"])["grant_id"] == received["id"]

    # More than the balance, to an unknown member, in the wrong unit: clear errors.
    assert api(gw, "POST", "/api/grants/ivy-rnd/transfer", {"to": "jon", "amount_usd": 31})[0] == 409
    status, error = api(gw, "POST", "/api/grants/ivy-rnd/transfer", {"to": "nobody", "amount_usd": 1})
    assert status == 404 and "nobody" in error["error"]["message"]
    status, error = api(gw, "POST", "/api/grants/ivy-rnd/transfer", {"to": "jon", "amount_tokens": 5})
    assert status == 400 and "amount_usd" in error["error"]["message"]

    # The CLI shows the same balances, and transfers too.
    table = gw.cli("grants", "--member", "ivy").stdout
    assert "ivy-rnd" in table and "$30.000000" in table
    out = gw.cli("grants", "transfer", "ivy-rnd", "--to", "jon", "--amount", "5").stdout
    assert "Transferred $5.000000" in out
    statuses = json.loads(gw.cli("grants", "status", "--format", "json").stdout)
    assert next(s for s in statuses if s["name"] == "ivy-rnd")["balance"] == "25.000000"
    failed = gw.cli("grants", "transfer", "ivy-rnd", "--to", "jon", "--amount", "500", check=False)
    assert failed.returncode != 0 and "left to give" in failed.stderr


def test_cli_sets_grants_and_the_gateway_picks_them_up(gw):
    key = personal_key(gw, "kai")
    client = openai_client(gw, key)
    ask(client)  # no grant yet: personal use is not governed by grants
    gw.cli("grants", "set", "kai-project", "--member", "kai", "--tokens", "100", "--period", "once", "--purpose", "project",
           "--expires", "2099-01-01")
    listed = gw.cli("grants", "list").stdout
    assert "kai-project" in listed and "100 tokens once, project" in listed

    def refused():
        try:
            ask(client, max_tokens=500)
            return False
        except openai.RateLimitError:
            return True
    wait_for(refused, timeout=10, what="the gateway to load the CLI's grant")
    gw.cli("grants", "delete", "kai-project")
    wait_for(lambda: not refused(), timeout=10, what="the grant's deletion to apply")


@pytest.mark.parametrize("body, fragment", [
    ({"scope": "team:platform", "amount_usd": 5}, "one member"),
    ({"scope": "member:x"}, "amount_usd or amount_tokens is required"),
    ({"scope": "member:x", "amount_usd": 5, "rollover": "capped"}, "rollover_cap"),
    ({"scope": "member:x", "amount_usd": 5, "period": "year"}, "period 'year'"),
    ({"scope": "member:x", "amount_usd": 5, "expires_at": "soon"}, "expires_at 'soon'"),
])
def test_invalid_grants_are_refused_with_reasons(gw, body, fragment):
    status, error = api(gw, "POST", "/api/grants", body)
    assert status == 400 and fragment in error["error"]["message"], error


def test_team_admins_manage_only_their_teams_members(gw):
    personal_key(gw, "lia", team="green")
    personal_key(gw, "max", team="green")
    personal_key(gw, "ned", team="red")
    lead = gw.cli("keys", "create", "--admin", "--team", "green", "--member", "green-lead", "--quiet").stdout.strip()
    status, grant = api(gw, "POST", "/api/grants", {"name": "lia-rnd", "scope": "member:lia", "amount_usd": 10}, key=lead)
    assert status == 201, grant
    assert api(gw, "POST", "/api/grants", {"name": "ned-rnd", "scope": "member:ned", "amount_usd": 10}, key=lead)[0] == 403
    assert api(gw, "POST", "/api/grants/lia-rnd/transfer", {"to": "max", "amount_usd": 2}, key=lead)[0] == 201
    assert api(gw, "POST", "/api/grants/lia-rnd/transfer", {"to": "ned", "amount_usd": 2}, key=lead)[0] == 403
    assert api(gw, "GET", "/api/members/ned/grants", key=lead)[0] == 403
    names = [g["name"] for g in api(gw, "GET", "/api/grants", key=lead)[1]["data"]]
    assert "lia-rnd" in names and "gina-rnd" not in names


def test_concurrent_transfers_never_give_more_than_the_balance(gw):
    from concurrent.futures import ThreadPoolExecutor
    personal_key(gw, "oda")
    personal_key(gw, "pia")
    api(gw, "POST", "/api/grants", {"name": "oda-rnd", "scope": "member:oda", "amount_usd": 50})
    with ThreadPoolExecutor(max_workers=12) as pool:
        statuses = list(pool.map(lambda _: api(gw, "POST", "/api/grants/oda-rnd/transfer", {"to": "pia", "amount_usd": 10})[0], range(12)))
    assert sorted(statuses) == [201] * 5 + [409] * 7
    assert api(gw, "GET", "/api/grants/oda-rnd/statement")[1]["balance"] == "0.000000"
    received = [s for s in api(gw, "GET", "/api/members/pia/grants")[1]["data"]]
    assert len(received) == 5 and all(s["balance"] == "10.000000" for s in received)
