"""The official OpenAI SDK through Strates against the stub upstream: answers, streams,
tools, the Responses API, embeddings, errors, and the ledger checked against the usage
the upstream reported."""
import json

import httpx
import openai
import pytest

from conftest import request_id_of

# The stub reports: prompt 1234 (1024 cached), completion 56 (12 reasoning).
CHAT = dict(input_tokens=210, cache_read_tokens=1024, output_tokens=56, reasoning_tokens=12,
            cache_write_5m_tokens=0, cache_write_1h_tokens=0)
# gpt-4o-mini list price: $0.15 in, $0.075 cached, $0.60 out per million tokens.
CHAT_COST_GPT_4O_MINI = 210 * 150 + 1024 * 75 + 56 * 600


def client(gateway, key=None, **kwargs):
    return openai.OpenAI(base_url=gateway.url + "/v1", api_key=key or gateway.key, max_retries=0, **kwargs)


def assert_usage(row, expected):
    for name, value in expected.items():
        assert row[name] == value, f"{name}: ledger has {row[name]}, upstream reported {value}"


def test_chat_completion(gateway, stub):
    raw = client(gateway).chat.completions.with_raw_response.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}], user="end-user-7")
    completion = raw.parse()
    assert completion.choices[0].message.content == "Hello from the stub."
    assert completion.usage.prompt_tokens == 1234
    # Unknown fields from the upstream reach the client.
    assert json.loads(raw.http_response.content)["x_future_field"] == {"kept": True}
    row = gateway.row_for(request_id_of(raw))
    assert_usage(row, CHAT)
    assert row["status"] == "completed" and row["usage_estimated"] == 0
    assert row["cost_nano"] == CHAT_COST_GPT_4O_MINI
    assert (row["member"], row["team"], row["environment"], row["end_user"]) == ("alice", "platform", "personal", "end-user-7")
    assert row["upstream_request_id"] == "req_stub_123"
    # The provider got its own key, never the client's Strates key.
    upstream = stub.last("/v1/chat/completions")
    assert upstream["headers"]["authorization"] == "Bearer stub-openai-key"
    assert gateway.key not in json.dumps(upstream["headers"])


def test_stream_gets_usage_without_showing_it(gateway, stub):
    with client(gateway).chat.completions.with_streaming_response.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}], stream=True) as response:
        request_id = request_id_of(response)
        chunks = list(response.parse())
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Hello from the stub."
    assert all(c.choices for c in chunks), "the usage-only chunk must stay hidden from a client that did not ask"
    assert json.loads(stub.last("/v1/chat/completions")["body"])["stream_options"] == {"include_usage": True}
    row = gateway.row_for(request_id)
    assert_usage(row, CHAT)
    assert row["stream"] == 1 and row["usage_estimated"] == 0
    assert row["ttft_ms"] is not None


def test_stream_with_client_usage(gateway):
    with client(gateway).chat.completions.with_streaming_response.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}], stream=True,
            stream_options={"include_usage": True}) as response:
        request_id = request_id_of(response)
        chunks = list(response.parse())
    assert chunks[-1].choices == [] and chunks[-1].usage.prompt_tokens == 1234
    assert_usage(gateway.row_for(request_id), CHAT)


def test_usage_on_a_chunk_with_choices(gateway):
    with client(gateway).chat.completions.with_streaming_response.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}], stream=True,
            extra_headers={"x-stub-scenario": "usage-on-choice"}) as response:
        request_id = request_id_of(response)
        chunks = list(response.parse())
    assert chunks[-1].usage.completion_tokens == 56
    assert_usage(gateway.row_for(request_id), CHAT)


@pytest.mark.parametrize("stream", [False, True])
def test_tool_calls(gateway, stream):
    tools = [{"type": "function", "function": {"name": "get_weather", "parameters": {
        "type": "object", "properties": {"city": {"type": "string"}}}}}]
    c = client(gateway)
    args = dict(model="gpt-4o", messages=[{"role": "user", "content": "weather?"}], tools=tools,
                extra_headers={"x-stub-scenario": "tool"})
    if stream:
        arguments = ""
        name = None
        for chunk in c.chat.completions.create(stream=True, **args):
            for call in (chunk.choices[0].delta.tool_calls or []) if chunk.choices else []:
                name = call.function.name or name
                arguments += call.function.arguments or ""
    else:
        message = c.chat.completions.create(**args).choices[0].message
        name, arguments = message.tool_calls[0].function.name, message.tool_calls[0].function.arguments
    assert name == "get_weather"
    assert json.loads(arguments) == {"city": "Paris"}


@pytest.mark.parametrize("stream", [False, True])
def test_responses_api(gateway, stream):
    c = client(gateway)
    if stream:
        with c.responses.with_streaming_response.create(model="gpt-5-codex", input="fix the bug", stream=True) as response:
            request_id = request_id_of(response)
            events = list(response.parse())
        assert [e.type for e in events][-1] == "response.completed"
        final = events[-1].response
    else:
        raw = c.responses.with_raw_response.create(model="gpt-5-codex", input="fix the bug")
        request_id = request_id_of(raw)
        final = raw.parse()
    assert final.output_text == "Done."
    assert final.usage.input_tokens == 5000
    row = gateway.row_for(request_id)
    assert_usage(row, dict(input_tokens=904, cache_read_tokens=4096, output_tokens=300, reasoning_tokens=256))
    # gpt-5-codex: $1.25 in, $0.125 cached, $10 out per million.
    assert row["cost_nano"] == 904 * 1250 + 4096 * 125 + 300 * 10000


def test_priority_tier_is_priced_as_priority(gateway):
    raw = client(gateway).chat.completions.with_raw_response.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "x"}], service_tier="priority",
        extra_headers={"x-stub-scenario": "priority"})
    row = gateway.row_for(request_id_of(raw))
    assert row["service_tier"] == "priority"
    # gpt-4o-mini priority is 1.6667x list (basis points 16_667), applied once to the total.
    assert row["cost_nano"] == (CHAT_COST_GPT_4O_MINI * 16667 + 5000) // 10000


def test_embeddings(gateway):
    raw = client(gateway).embeddings.with_raw_response.create(model="text-embedding-3-small", input=["a", "b"])
    result = raw.parse()
    assert [round(x, 3) for x in result.data[1].embedding] == [0.25, -0.5, 0.75]
    row = gateway.row_for(request_id_of(raw))
    assert row["input_tokens"] == 8 and row["output_tokens"] == 0
    assert row["cost_nano"] == 8 * 20


def test_alias_is_served_by_its_upstream_model(gateway, stub):
    raw = client(gateway).chat.completions.with_raw_response.create(model="fast", messages=[{"role": "user", "content": "x"}])
    assert json.loads(stub.last("/v1/chat/completions")["body"])["model"] == "gpt-4o-mini"
    row = gateway.row_for(request_id_of(raw))
    assert (row["requested_model"], row["served_model"]) == ("fast", "gpt-4o-mini")
    assert row["cost_nano"] == CHAT_COST_GPT_4O_MINI


def test_attribution_headers(gateway):
    raw = client(gateway).chat.completions.with_raw_response.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "x"}],
        metadata={"strates_process": "planner-from-metadata"},
        extra_headers={"x-strates-workflow": "pr-review-bot", "x-strates-run": "run-42", "x-strates-parent-run": "run-1",
                       "x-strates-process": "reviewer", "x-strates-environment": "production",
                       "traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"})
    row = gateway.row_for(request_id_of(raw))
    assert (row["workflow"], row["run"], row["parent_run"], row["process"]) == ("pr-review-bot", "run-42", "run-1", "reviewer")
    assert row["trace_id"] == "4bf92f3577b34da6a3ce929d0e0e4736"
    # A personal key cannot relabel its spending as production.
    assert row["environment"] == "personal"


def test_models_list(gateway):
    ids = [m.id for m in client(gateway).models.list()]
    assert "fast" in ids and "o4-mini" in ids


# --- errors: every one in OpenAI's shape, raised as the SDK's proper class ------------------

def test_bad_key(gateway):
    with pytest.raises(openai.AuthenticationError) as caught:
        client(gateway, key="sk-strates-wrong").chat.completions.create(model="gpt-4o", messages=[])
    assert "not valid" in caught.value.message


def test_missing_key(gateway):
    response = httpx.post(gateway.url + "/v1/chat/completions", json={"model": "gpt-4o", "messages": []})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "missing_api_key"


def test_unknown_model(gateway):
    with pytest.raises(openai.NotFoundError) as caught:
        client(gateway).chat.completions.create(model="no-such-model", messages=[])
    assert "no-such-model" in caught.value.message


@pytest.mark.parametrize("body", [b"{not json", b"[]", b'{"messages": []}', b'{"model": 5}', b'{"model":"gpt-4o","stream":"yes"}', b"\xff\xfe"])
def test_malformed_bodies(gateway, body):
    response = httpx.post(gateway.url + "/v1/chat/completions", content=body,
                          headers={"authorization": f"Bearer {gateway.key}", "content-type": "application/json"})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error" and error["message"]


def test_body_over_the_limit(gateway):
    response = httpx.post(gateway.url + "/v1/chat/completions", content=b'{"model":"gpt-4o","x":"' + b"a" * 2_100_000 + b'"}',
                          headers={"authorization": f"Bearer {gateway.key}"})
    assert response.status_code == 413
    assert "max_body_bytes" in response.json()["error"]["message"]


@pytest.mark.parametrize("scenario,error_class", [
    ("error-429", openai.RateLimitError), ("error-500", openai.InternalServerError), ("error-400", openai.BadRequestError),
    ("html-502", openai.APIStatusError),
])
def test_upstream_errors_pass_back(gateway, scenario, error_class):
    with pytest.raises(error_class) as caught:
        client(gateway).chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "x"}],
                                                extra_headers={"x-stub-scenario": scenario})
    request_id = caught.value.response.headers["x-strates-request-id"]
    if scenario == "error-429":
        assert caught.value.response.headers["retry-after"] == "1"
    row = gateway.row_for(request_id)
    assert row["status"] == "failed" and row["http_status"] == caught.value.status_code


def test_upstream_cut_stream_is_metered_as_estimate(gateway):
    with client(gateway).chat.completions.with_streaming_response.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "x"}], stream=True,
            extra_headers={"x-stub-scenario": "cut"}) as response:
        request_id = request_id_of(response)
        # The gateway ends the cut stream with an OpenAI error chunk, which the SDK raises.
        with pytest.raises(openai.APIError) as caught:
            list(response.parse())
    assert "cut" in str(caught.value)
    row = gateway.row_for(request_id)
    assert row["status"] == "cut" and row["usage_estimated"] == 1
    assert row["input_tokens"] > 0 and row["cost_nano"] is not None


def test_websocket_upgrade_is_refused_fast(gateway):
    response = httpx.get(gateway.url + "/v1/responses", headers={"upgrade": "websocket", "connection": "Upgrade",
                                                                  "sec-websocket-version": "13", "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ=="})
    assert response.status_code == 426


def test_alias_stream_gets_both_splices(gateway, stub):
    with client(gateway).chat.completions.with_streaming_response.create(
            model="fast", messages=[{"role": "user", "content": "x"}], stream=True) as response:
        request_id = request_id_of(response)
        list(response.parse())
    sent = json.loads(stub.last("/v1/chat/completions")["body"])
    assert sent["model"] == "gpt-4o-mini" and sent["stream_options"] == {"include_usage": True}
    assert_usage(gateway.row_for(request_id), CHAT)


def test_codex_shaped_request(gateway):
    """What Codex CLI sends: a streamed Responses call with its session header."""
    body = {"model": "gpt-5-codex", "instructions": "You are Codex.", "stream": True, "store": False,
            "input": [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": "fix it"}]}],
            "reasoning": {"effort": "medium", "summary": "auto"}, "include": ["reasoning.encrypted_content"],
            "prompt_cache_key": "0199a1b2-conv"}
    with httpx.stream("POST", gateway.url + "/v1/responses", json=body, timeout=10,
                      headers={"authorization": f"Bearer {gateway.key}", "session_id": "0199a1b2-conv",
                               "x-client-request-id": "0199a1b2-conv", "accept": "text/event-stream"}) as response:
        request_id = response.headers["x-strates-request-id"]
        text = b"".join(response.iter_bytes()).decode()
    assert response.headers["content-type"].startswith("text/event-stream")
    assert text.index("event: response.created") < text.index("event: response.completed")
    row = gateway.row_for(request_id)
    assert row["run"] == "0199a1b2-conv"
    assert (row["input_tokens"], row["cache_read_tokens"], row["reasoning_tokens"]) == (904, 4096, 256)


def test_codex_016_headers_attribute_session_subagent_and_compaction(gateway):
    """What Codex 0.16x sends instead of `session_id`: `session-id`, `thread-id` and
    `x-codex-turn-metadata`; a sub-agent's thread is a child run, a compaction not a turn."""
    session = "019a6c1e-7d2b-7f30-9a1e-2b8c0d4e5f61"

    def call(metadata, extra=None):
        body = {"model": "gpt-5-codex", "stream": False,
                "input": [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": "fix it"}]}]}
        headers = {"authorization": f"Bearer {gateway.key}", "session-id": session, "thread-id": metadata["thread_id"],
                   "originator": "codex_exec", "x-codex-turn-metadata": json.dumps(metadata), **(extra or {})}
        response = httpx.post(gateway.url + "/v1/responses", json=body, headers=headers, timeout=10)
        assert response.status_code == 200, response.text
        return gateway.row_for(response.headers["x-strates-request-id"])

    main = call({"session_id": session, "thread_id": session, "turn_id": "t1", "request_kind": "turn", "agent_name": "codex"})
    assert (main["run"], main["parent_run"], main["process"], main["turn"]) == (session, None, None, "human")
    child = call({"session_id": session, "thread_id": "th-sub-1", "parent_thread_id": session, "request_kind": "subagent_turn"},
                 {"x-openai-subagent": "collab_spawn", "x-codex-parent-thread-id": session})
    assert (child["run"], child["parent_run"], child["process"]) == ("th-sub-1", session, "collab_spawn")
    compaction = call({"session_id": session, "thread_id": session, "request_kind": "compaction"})
    assert compaction["run"] == session and compaction["turn"] is None


def test_upstream_that_ignores_stream_is_metered_exactly(gateway):
    response = httpx.post(gateway.url + "/v1/chat/completions", timeout=10,
                          headers={"authorization": f"Bearer {gateway.key}", "x-stub-scenario": "ignores-stream"},
                          json={"model": "gpt-4o-mini", "stream": True, "messages": [{"role": "user", "content": "x"}]})
    assert response.status_code == 200 and response.json()["object"] == "chat.completion"
    row = gateway.row_for(response.headers["x-strates-request-id"])
    assert row["status"] == "completed" and row["usage_estimated"] == 0
    assert_usage(row, CHAT)
