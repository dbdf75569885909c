"""Runaway runs through the official SDKs: an agent repeating the same request is flagged
(kept in the ledger), and with `stop: true` its further requests get a clear error in the
client's own format, while other runs go on."""
import sqlite3

import anthropic
import openai
import pytest

from conftest import Gateway, sim_control_config, wait_for

CONFIG = sim_control_config({"sim": 1}, ['{name: "*", provider: sim}']) + "runaway: {repeated_requests: 3, max_calls_per_run: 50, stop: true}\n"


@pytest.fixture(scope="module")
def gw(tmp_path_factory):
    gateway = Gateway(tmp_path_factory.mktemp("runaway"), CONFIG)
    yield gateway
    gateway.stop()


def flags(gw):
    connection = sqlite3.connect(gw.db, timeout=10)
    try:
        return connection.execute("SELECT run, reason, calls, stopped FROM run_flags ORDER BY at").fetchall()
    finally:
        connection.close()


def test_a_looping_agent_is_stopped_in_its_own_format(gw):
    chat = openai.OpenAI(base_url=gw.url + "/v1", api_key=gw.key, max_retries=0, default_headers={"x-strates-run": "stuck-1"})
    for _ in range(3):
        chat.chat.completions.create(model="gpt-4o-mini", max_tokens=20, messages=[{"role": "user", "content": "Run the tests again."}])
    with pytest.raises(openai.PermissionDeniedError) as stopped:
        chat.chat.completions.create(model="gpt-4o-mini", max_tokens=20, messages=[{"role": "user", "content": "Run the tests again."}])
    error = stopped.value.response.json()["error"]
    assert error["code"] == "run_stopped" and "Run 'stuck-1' was stopped as a runaway: 3 calls" in error["message"]
    assert wait_for(lambda: flags(gw)) == [("stuck-1", "repeated", 3, 1)]

    messages = anthropic.Anthropic(base_url=gw.url, api_key=gw.key, max_retries=0, default_headers={"x-strates-run": "stuck-2"})
    for _ in range(3):
        messages.messages.create(model="claude-haiku-4-5", max_tokens=20, messages=[{"role": "user", "content": "Again."}])
    with pytest.raises(anthropic.PermissionDeniedError) as refused:
        messages.messages.create(model="claude-haiku-4-5", max_tokens=20, messages=[{"role": "user", "content": "Something else."}])
    assert refused.value.body["error"]["type"] == "permission_error" and "stuck-2" in refused.value.body["error"]["message"]

    # A run whose requests move on is not a loop.
    working = openai.OpenAI(base_url=gw.url + "/v1", api_key=gw.key, max_retries=0, default_headers={"x-strates-run": "working"})
    for step in range(6):
        working.chat.completions.create(model="gpt-4o-mini", max_tokens=20, messages=[{"role": "user", "content": f"Step {step}."}])
    rejected = gw.rows("run = 'stuck-1' AND status = 'rejected'")
    assert len(rejected) == 1 and rejected[0]["error"] == "refused: run_stopped"
