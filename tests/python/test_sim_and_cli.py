"""The simulated provider through `strates serve`, and the CLI and admin API around the ledger."""
import sqlite3
import json
import time

import anthropic
import httpx
import openai
import pytest

from conftest import request_id_of


def test_sim_openai_usage_matches_what_the_client_saw(gateway):
    c = openai.OpenAI(base_url=gateway.url + "/v1", api_key=gateway.key, max_retries=0)
    raw = c.chat.completions.with_raw_response.create(model="sim-small", messages=[{"role": "user", "content": "hello " * 50}])
    completion = raw.parse()
    row = gateway.row_for(request_id_of(raw))
    assert row["provider"] == "sim"
    assert row["input_tokens"] + row["cache_read_tokens"] == completion.usage.prompt_tokens
    assert row["output_tokens"] == completion.usage.completion_tokens
    assert 5 <= completion.usage.completion_tokens <= 40
    # Deterministic: the same request gets the same reply.
    again = c.chat.completions.create(model="sim-small", messages=[{"role": "user", "content": "hello " * 50}])
    assert again.choices[0].message.content == completion.choices[0].message.content


def test_sim_anthropic_stream_and_prefix_cache(gateway):
    c = anthropic.Anthropic(base_url=gateway.url, api_key=gateway.key, max_retries=0)
    system = [{"type": "text", "text": "You are a careful reviewer. " * 400, "cache_control": {"type": "ephemeral"}}]
    first = c.messages.create(model="sim-large", max_tokens=20, system=system, messages=[{"role": "user", "content": "one"}])
    assert first.usage.cache_creation_input_tokens > 0 and first.usage.cache_read_input_tokens == 0
    with c.messages.stream(model="sim-large", max_tokens=20, system=system, messages=[{"role": "user", "content": "two"}]) as s:
        second = s.get_final_message()
    assert second.usage.cache_read_input_tokens > 1000, "a repeated prompt prefix is a cache read"
    assert second.usage.output_tokens <= 20


def test_sim_fault_header_gives_proper_errors(gateway):
    c = openai.OpenAI(base_url=gateway.url + "/v1", api_key=gateway.key, max_retries=0)
    with pytest.raises(openai.RateLimitError):
        c.chat.completions.create(model="sim-small", messages=[{"role": "user", "content": "x"}], extra_headers={"x-sim-fault": "429"})
    with pytest.raises(openai.InternalServerError):
        c.chat.completions.create(model="sim-small", messages=[{"role": "user", "content": "x"}], extra_headers={"x-sim-fault": "500"})
    with c.chat.completions.with_streaming_response.create(model="sim-small", messages=[{"role": "user", "content": "x"}],
                                                           stream=True, extra_headers={"x-sim-fault": "cut"}) as response:
        request_id = request_id_of(response)
        body = b"".join(response.iter_bytes())
    assert b"[DONE]" not in body and b"cut" in body
    assert gateway.row_for(request_id)["status"] == "cut"


def test_usage_command_and_admin_api(gateway):
    openai.OpenAI(base_url=gateway.url + "/v1", api_key=gateway.key, max_retries=0).chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "x"}], extra_headers={"x-strates-workflow": "usage-check"})
    rows = gateway.wait_rows(1, "workflow = 'usage-check'")
    report = json.loads(gateway.cli("usage", "--by", "workflow,model", "--format", "json", "--workflow", "usage-check").stdout)
    assert report["total"]["requests"] == len(rows)
    assert report["total"]["input_tokens"] == sum(r["input_tokens"] for r in rows)
    assert report["total"]["cost_nano_usd"] == sum(r["cost_nano"] for r in rows)
    assert report["rows"][0]["group"] == {"workflow": "usage-check", "model": "gpt-4o-mini"}
    csv = gateway.cli("usage", "--by", "team", "--format", "csv").stdout.splitlines()
    assert csv[0].startswith("team,requests,input,cache_read")
    table = gateway.cli("usage", "--by", "member", "--since", "7d").stdout
    assert "alice" in table and "TOTAL" in table
    import datetime
    days = json.loads(gateway.cli("usage", "--by", "day", "--format", "json").stdout)
    today = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")
    assert today in [row["group"]["day"] for row in days["rows"]]
    bad = gateway.cli("usage", "--by", "colour", check=False)
    assert bad.returncode != 0 and "colour" in bad.stderr

    api = httpx.get(gateway.url + "/api/usage", params={"by": "workflow", "workflow": "usage-check"},
                    headers={"authorization": f"Bearer {gateway.admin_key}"})
    assert api.status_code == 200 and api.json()["total"]["requests"] == len(rows)
    forbidden = httpx.get(gateway.url + "/api/usage", headers={"authorization": f"Bearer {gateway.key}"})
    assert forbidden.status_code == 403
    assert httpx.get(gateway.url + "/api/usage", params={"by": "nope"}, headers={"authorization": f"Bearer {gateway.admin_key}"}).status_code == 400


def test_metrics_and_health(gateway):
    openai.OpenAI(base_url=gateway.url + "/v1", api_key=gateway.key, max_retries=0).chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "x"}])
    text = httpx.get(gateway.url + "/metrics").text
    assert 'strates_requests_total{' in text
    assert 'strates_tokens_total{' in text and 'kind="cache_read"' in text
    assert "gen_ai_client_token_usage" in text
    assert "strates_cost_nano_usd_total" in text
    assert httpx.get(gateway.url + "/healthz").status_code == 200
    assert httpx.get(gateway.url + "/readyz").json()["status"] == "ready"


def test_keys_list_and_revoke(gateway):
    secret = gateway.cli("keys", "create", "--member", "bob", "--team", "infra", "--name", "bob-ci", "--quiet").stdout.strip()
    assert secret.startswith("sk-strates-")
    listing = gateway.cli("keys", "list").stdout
    assert "bob-ci" in listing and secret not in listing and secret[:20] not in listing
    c = openai.OpenAI(base_url=gateway.url + "/v1", api_key=secret, max_retries=0)
    c.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "x"}])
    gateway.cli("keys", "revoke", "bob-ci")
    deadline = time.time() + 10
    while time.time() < deadline:
        try:
            c.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "x"}])
            time.sleep(0.5)
        except openai.AuthenticationError:
            break
    else:
        pytest.fail("a revoked key kept working")
    # Nothing in the database holds the secret itself.
    assert secret.encode() not in open(gateway.db, "rb").read()


def test_expired_key_is_refused(gateway):
    # The CLI refuses to create a key that is already expired, so age one in the ledger.
    secret = gateway.cli("keys", "create", "--member", "carol", "--expires", "1h", "--quiet").stdout.strip()
    connection = sqlite3.connect(gateway.db, timeout=10)
    with connection:
        changed = connection.execute("UPDATE api_keys SET expires_at = 1577836800000 WHERE member = 'carol'").rowcount
    connection.close()
    assert changed == 1
    refused = gateway.cli("keys", "create", "--member", "carol", "--expires", "2020-01-01", "--quiet", check=False)
    assert refused.returncode != 0 and "past" in refused.stderr
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(base_url=gateway.url + "/v1", api_key=secret, max_retries=0).chat.completions.create(
            model="gpt-4o-mini", messages=[])


def test_config_validate_reports_every_problem_with_location(gateway, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("""server:
  port: 99999
  colour: blue
providers:
  main:
    kind: openai
    api_key: sk-plain-text
  local:
    kind: openai_compatible
models:
  - name: gpt-4o
    provider: nowhere
""")
    from conftest import run_cli
    result = run_cli("config", "validate", str(bad), env=gateway.env, check=False)
    assert result.returncode == 1
    err = result.stderr
    assert "line 2" in err and "server.port" in err and "out of range" in err
    assert "line 3" in err and "server.colour" in err
    assert "providers.main.api_key" in err and "api_key_env" in err
    assert "providers.local.base_url" in err
    assert "models[0].provider" in err and "nowhere" in err
    good = run_cli("config", "validate", str(gateway.config), env=gateway.env)
    assert "OK" in good.stdout


def test_prices_import_and_show(gateway, tmp_path):
    prices = tmp_path / "prices.json"
    prices.write_text(json.dumps({
        "sample_spec": {"input_cost_per_token": 0},
        "acme-coder-1": {"litellm_provider": "openai", "input_cost_per_token": 2e-06, "output_cost_per_token": 8e-06,
                         "cache_read_input_token_cost": 5e-07, "mode": "chat"},
    }))
    result = gateway.cli("prices", "import", str(prices), "--effective", "2026-01-01")
    assert "Imported 1 prices" in result.stdout
    shown = gateway.cli("prices", "show", "acme-coder-1").stdout
    assert "input $2" in shown and "output $8" in shown and "cache read $0.5" in shown
    missing = gateway.cli("prices", "show", "unpriced-model-x", check=False)
    assert missing.returncode != 0 and "unknown" in missing.stderr


def test_unknown_price_is_recorded_as_unknown_not_zero(stub, tmp_path):
    from conftest import Gateway
    config = f"""
ledger: {{flush_interval_ms: 50}}
providers:
  local: {{kind: openai_compatible, base_url: "{stub.url}/v1"}}
models:
  - {{name: "house-model", provider: local}}
"""
    gw = Gateway(tmp_path, config)
    try:
        raw = openai.OpenAI(base_url=gw.url + "/v1", api_key=gw.key, max_retries=0).chat.completions.with_raw_response.create(
            model="house-model", messages=[{"role": "user", "content": "x"}])
        row = gw.row_for(request_id_of(raw))
        assert row["cost_nano"] is None and row["input_tokens"] == 210
        table = gw.cli("usage").stdout
        assert "no known price" in table
    finally:
        gw.stop()


def test_example_configuration_is_valid(tmp_path):
    """The README's example file must keep validating."""
    import os
    from conftest import ROOT, run_cli
    key_file = tmp_path / "anthropic_key"
    key_file.write_text("sk-ant-test\n")
    example = (ROOT / "strates.example.yaml").read_text().replace("/run/secrets/anthropic_key", str(key_file))
    path = tmp_path / "example.yaml"
    path.write_text(example)
    env = dict(os.environ, OPENAI_API_KEY="x", TOGETHER_API_KEY="x", AZURE_OPENAI_API_KEY="x")
    result = run_cli("config", "validate", str(path), env=env)
    assert "OK — 5 provider(s), 7 model route(s)" in result.stdout
    missing = run_cli("config", "validate", str(path), env=dict(env, OPENAI_API_KEY=""), check=False)
    assert missing.returncode == 1 and "OPENAI_API_KEY" in missing.stderr


@pytest.mark.parametrize("sdk", ["openai", "anthropic"])
def test_malformed_provider_body_becomes_a_clear_error(gateway, sdk):
    if sdk == "openai":
        c = openai.OpenAI(base_url=gateway.url + "/v1", api_key=gateway.key, max_retries=0)
        with pytest.raises(openai.APIStatusError) as caught:
            c.chat.completions.create(model="sim-small", messages=[{"role": "user", "content": "x"}], extra_headers={"x-sim-fault": "malformed"})
    else:
        c = anthropic.Anthropic(base_url=gateway.url, api_key=gateway.key, max_retries=0)
        with pytest.raises(anthropic.APIStatusError) as caught:
            c.messages.create(model="sim-small", max_tokens=5, messages=[{"role": "user", "content": "x"}], extra_headers={"x-sim-fault": "malformed"})
    assert caught.value.status_code == 502
    assert "malformed" in caught.value.message
    row = gateway.row_for(caught.value.response.headers["x-strates-request-id"])
    assert row["status"] == "failed" and row["usage_estimated"] == 1


def test_malformed_event_in_a_stream_does_not_stop_metering(gateway):
    with httpx.stream("POST", gateway.url + "/v1/messages", timeout=10,
                      headers={"x-api-key": gateway.key, "x-sim-fault": "malformed", "x-sim-output-tokens": "6"},
                      json={"model": "sim-small", "max_tokens": 50, "stream": True, "messages": [{"role": "user", "content": "x"}]}) as response:
        request_id = response.headers["x-strates-request-id"]
        body = b"".join(response.iter_bytes())
    assert b"broken" in body and b"message_stop" in body
    row = gateway.row_for(request_id)
    assert (row["status"], row["output_tokens"], row["usage_estimated"]) == ("completed", 6, 0)


def test_azure_style_provider(stub, tmp_path):
    from conftest import Gateway
    config = f"""
ledger: {{flush_interval_ms: 50}}
providers:
  azure:
    kind: openai_compatible
    base_url: "{stub.url}/v1"
    api_key_env: STUB_OPENAI_KEY
    auth_header: api-key
    query: {{api-version: "2025-04-01-preview"}}
    headers: {{x-ms-client: strates}}
models:
  - {{name: "gpt-4o", provider: azure}}
"""
    gw = Gateway(tmp_path, config)
    try:
        raw = openai.OpenAI(base_url=gw.url + "/v1", api_key=gw.key, max_retries=0).chat.completions.with_raw_response.create(
            model="gpt-4o", messages=[{"role": "user", "content": "x"}])
        assert raw.parse().choices[0].message.content == "Hello from the stub."
        sent = stub.last("/v1/chat/completions?api-version=2025-04-01-preview")
        assert sent is not None
        assert sent["headers"]["api-key"] == "stub-openai-key"
        assert "authorization" not in sent["headers"]
        assert sent["headers"]["x-ms-client"] == "strates"
        assert gw.row_for(request_id_of(raw))["input_tokens"] == 210
    finally:
        gw.stop()
