"""Feedback on requests and runs through the admin API: stored, listed, checked against the
ledger, and kept to a team admin's own team."""
import httpx
import pytest

from conftest import Gateway, api, sim_control_config

CONFIG = sim_control_config({"sim": 2}, ['{name: "gpt-*", provider: sim}'])


@pytest.fixture(scope="module")
def gw(tmp_path_factory):
    gateway = Gateway(tmp_path_factory.mktemp("feedback"), CONFIG)
    yield gateway
    gateway.stop()


def ask(gw, key, run=None):
    headers = {"authorization": f"Bearer {key}", **({"x-strates-run": run} if run else {})}
    response = httpx.post(gw.url + "/v1/chat/completions", headers=headers, timeout=30,
                          json={"model": "gpt-4o-mini", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]})
    assert response.status_code == 200
    return response.headers["x-strates-request-id"]


def test_feedback_on_a_request_and_a_run(gw):
    request_id = ask(gw, gw.key, run="run-42")
    ask(gw, gw.key, run="run-42")
    status, made = api(gw, "POST", "/api/feedback", {"request_id": request_id, "score": 1, "source": "review", "comment": "good fix"})
    assert status == 201, made
    assert made["request_id"] == request_id and made["score"] == 1 and made["id"].startswith("fb_")
    status, made = api(gw, "POST", "/api/feedback", {"run": "run-42", "score": 0.25, "source": "ci"})
    assert status == 201 and made["run"] == "run-42"
    listed = api(gw, "GET", "/api/feedback?run=run-42")[1]["data"]
    assert [f["score"] for f in listed] == [0.25]
    assert api(gw, "GET", f"/api/feedback?request_id={request_id}")[1]["data"][0]["comment"] == "good fix"


def test_bad_feedback_is_refused_with_every_problem(gw):
    status, error = api(gw, "POST", "/api/feedback", {"score": 2, "colour": "red"})
    assert status == 400
    for expected in ["unknown field 'colour'", "either 'request_id'", "from 0 (failure) to 1"]:
        assert expected in error["error"]["message"]
    assert api(gw, "POST", "/api/feedback", {"request_id": "req_nope", "score": 1})[0] == 404
    assert api(gw, "POST", "/api/feedback", {"run": "no-such-run", "score": 1})[0] == 404
    assert api(gw, "GET", "/api/feedback")[0] == 400


def test_team_admins_score_only_their_teams_work(gw):
    other = gw.cli("keys", "create", "--member", "olga", "--team", "other", "--quiet").stdout.strip()
    foreign = ask(gw, other, run="run-other")
    lead = gw.cli("keys", "create", "--admin", "--team", "platform", "--member", "fb-lead", "--quiet").stdout.strip()
    assert api(gw, "POST", "/api/feedback", {"request_id": foreign, "score": 1}, key=lead)[0] == 404
    assert api(gw, "POST", "/api/feedback", {"run": "run-other", "score": 1}, key=lead)[0] == 404
    own = ask(gw, gw.key)
    assert api(gw, "POST", "/api/feedback", {"request_id": own, "score": 1}, key=lead)[0] == 201
