"""The official Anthropic SDK through Strates against the stub upstream."""
import json

import anthropic
import httpx
import pytest

from conftest import request_id_of
from stub_upstream import SIGNATURE

# The stub reports input 12, cache writes 1500 (5 min) + 500 (1 h), cache reads 30000, output 108.
MESSAGES = dict(input_tokens=12, cache_write_5m_tokens=1500, cache_write_1h_tokens=500, cache_read_tokens=30000,
                output_tokens=108, reasoning_tokens=0)
# claude-sonnet-4-5: $3 in, 5 m writes 1.25×, 1 h writes 2×, reads 0.1×, $15 out.
SONNET_COST = 12 * 3000 + 1500 * 3750 + 500 * 6000 + 30000 * 300 + 108 * 15000


def client(gateway, key=None, **kwargs):
    return anthropic.Anthropic(base_url=gateway.url, api_key=key or gateway.key, max_retries=0, **kwargs)


def assert_usage(row, expected):
    for name, value in expected.items():
        assert row[name] == value, f"{name}: ledger has {row[name]}, upstream reported {value}"


def test_message(gateway, stub):
    raw = client(gateway).messages.with_raw_response.create(
        model="claude-sonnet-4-5", max_tokens=100, messages=[{"role": "user", "content": "hi"}],
        metadata={"user_id": "dev-9"},
        extra_headers={"anthropic-version": "2023-06-01", "anthropic-beta": "prompt-caching-2024-07-31,extended-cache-ttl-2025-04-11"})
    message = raw.parse()
    assert message.content[0].text == "Hello from the stub."
    row = gateway.row_for(request_id_of(raw))
    assert_usage(row, MESSAGES)
    assert row["cost_nano"] == SONNET_COST
    assert row["end_user"] == "dev-9"
    upstream = stub.last("/v1/messages")
    assert upstream["headers"]["x-api-key"] == "stub-anthropic-key"
    assert upstream["headers"]["anthropic-version"] == "2023-06-01"
    assert upstream["headers"]["anthropic-beta"] == "prompt-caching-2024-07-31,extended-cache-ttl-2025-04-11"
    assert gateway.key not in json.dumps(upstream["headers"])


def test_stream_keeps_final_output_count(gateway):
    with client(gateway).messages.with_streaming_response.create(
            model="claude-sonnet-4-5", max_tokens=100, messages=[{"role": "user", "content": "hi"}], stream=True,
            extra_headers={"x-claude-code-session-id": "session-abc"}) as response:
        request_id = request_id_of(response)
        events = list(response.parse())
    assert [e.type for e in events][0] == "message_start" and events[-1].type == "message_stop"
    row = gateway.row_for(request_id)
    assert_usage(row, MESSAGES)  # 108 from message_delta, not the 8 of message_start
    assert row["run"] == "session-abc"
    assert row["usage_estimated"] == 0


def test_stream_helper_final_message(gateway):
    with client(gateway).messages.stream(model="claude-haiku-4-5", max_tokens=50,
                                         messages=[{"role": "user", "content": "hi"}]) as stream:
        final = stream.get_final_message()
    assert final.usage.output_tokens == 108
    assert final.content[0].text == "Hello from the stub."


def test_signed_thinking_passes_byte_for_byte(gateway, stub):
    # A request with prior signed thinking, unusual spacing and fields Strates does not know.
    body = ('{"model": "claude-sonnet-4-5",  "max_tokens": 64, "stream": true, "x_new_field": {"a": [1, 2.50, "\\u00e9"]},'
            ' "thinking": {"type": "enabled", "budget_tokens": 1024}, "messages": [{"role": "user", "content": "q"},'
            ' {"role": "assistant", "content": [{"type": "thinking", "thinking": "prior", "signature": "' + SIGNATURE + '"},'
            ' {"type": "text", "text": "a"}]}, {"role": "user", "content": "next"}]}').encode()
    with httpx.stream("POST", gateway.url + "/v1/messages", content=body,
                      headers={"x-api-key": gateway.key, "anthropic-version": "2023-06-01",
                               "anthropic-beta": "interleaved-thinking-2025-05-14", "x-stub-scenario": "thinking"}) as response:
        streamed = b"".join(response.iter_bytes())
    assert response.status_code == 200
    assert stub.last("/v1/messages")["body"] == body, "the request body must reach the upstream unchanged"
    assert SIGNATURE.encode() in streamed and b"signature_delta" in streamed


@pytest.mark.parametrize("stream", [False, True])
def test_tool_use(gateway, stream):
    tools = [{"name": "get_weather", "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}}]
    c = client(gateway)
    args = dict(model="claude-sonnet-4-5", max_tokens=100, tools=tools, messages=[{"role": "user", "content": "weather?"}],
                extra_headers={"x-stub-scenario": "tool"})
    if stream:
        with c.messages.stream(**args) as s:
            message = s.get_final_message()
    else:
        message = c.messages.create(**args)
    block = message.content[0]
    assert block.type == "tool_use" and block.name == "get_weather" and block.input == {"city": "Paris"}
    assert message.stop_reason == "tool_use"


def test_query_string_is_passed_on(gateway, stub):
    # Claude Code posts to /v1/messages?beta=true.
    response = httpx.post(gateway.url + "/v1/messages?beta=true", headers={"x-api-key": gateway.key},
                          json={"model": "claude-haiku-4-5", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}]})
    assert response.status_code == 200
    assert stub.last("/v1/messages?beta=true") is not None


def test_count_tokens(gateway):
    count = client(gateway).messages.count_tokens(model="claude-sonnet-4-5", messages=[{"role": "user", "content": "hi"}])
    assert count.input_tokens == 4242


def test_bad_key(gateway):
    with pytest.raises(anthropic.AuthenticationError) as caught:
        client(gateway, key="sk-strates-nope").messages.create(model="claude-sonnet-4-5", max_tokens=5, messages=[])
    assert caught.value.body["type"] == "error"
    assert caught.value.body["error"]["type"] == "authentication_error"


def test_unknown_model(gateway):
    with pytest.raises(anthropic.NotFoundError):
        client(gateway).messages.create(model="mistral-nothing-like-it", max_tokens=5, messages=[{"role": "user", "content": "x"}])


def test_openai_model_on_messages_api_is_carried_streamed(gateway):
    # The OpenAI-format model's chunks come back as Anthropic events (see test_translation.py).
    with client(gateway).messages.stream(model="gpt-4o", max_tokens=5, messages=[{"role": "user", "content": "x"}]) as stream:
        message = stream.get_final_message()
    assert message.content[0].text == "Hello from the stub." and message.usage.output_tokens == 56


def test_malformed_json(gateway):
    response = httpx.post(gateway.url + "/v1/messages", content=b'{"model": "claude', headers={"x-api-key": gateway.key})
    assert response.status_code == 400
    assert response.json()["error"]["type"] == "invalid_request_error"


@pytest.mark.parametrize("scenario,error_class", [("error-429", anthropic.RateLimitError), ("error-500", anthropic.InternalServerError)])
def test_upstream_errors(gateway, scenario, error_class):
    with pytest.raises(error_class):
        client(gateway).messages.create(model="claude-sonnet-4-5", max_tokens=5, messages=[{"role": "user", "content": "x"}],
                                        extra_headers={"x-stub-scenario": scenario})


def test_cut_stream_keeps_reported_input(gateway):
    with client(gateway).messages.with_streaming_response.create(
            model="claude-sonnet-4-5", max_tokens=100, messages=[{"role": "user", "content": "hi"}], stream=True,
            extra_headers={"x-stub-scenario": "cut"}) as response:
        request_id = request_id_of(response)
        # The gateway ends the cut stream with an Anthropic `error` event, which the SDK raises.
        with pytest.raises(anthropic.APIStatusError) as caught:
            list(response.parse())
    assert "cut" in str(caught.value)
    row = gateway.row_for(request_id)
    assert row["status"] == "cut" and row["usage_estimated"] == 1
    # message_start arrived before the cut: its input and cache counts are kept as reported.
    assert (row["input_tokens"], row["cache_read_tokens"]) == (12, 30000)


def test_coding_agent_sized_body_passes_byte_for_byte(gateway, stub):
    """A ~1 MB request, the size Claude Code sends deep into a session, arrives unchanged."""
    history = [{"role": "user" if i % 2 == 0 else "assistant",
                "content": [{"type": "text", "text": ("def f%d(x):\n    return x * %d  # é ✓ \\\" \n" % (i, i)) * 60}]}
               for i in range(300)]
    history.append({"role": "user", "content": "continue"})
    body = json.dumps({"model": "claude-sonnet-4-5", "max_tokens": 64, "stream": True, "messages": history,
                       "system": [{"type": "text", "text": "You are a coding agent.", "cache_control": {"type": "ephemeral"}}]},
                      ensure_ascii=False).encode()
    assert len(body) > 900_000
    with httpx.stream("POST", gateway.url + "/v1/messages", content=body, timeout=30,
                      headers={"x-api-key": gateway.key, "anthropic-version": "2023-06-01"}) as response:
        request_id = response.headers["x-strates-request-id"]
        b"".join(response.iter_bytes())
    assert response.status_code == 200
    assert stub.last("/v1/messages")["body"] == body
    assert gateway.row_for(request_id)["output_tokens"] == 108


def test_models_list_in_anthropic_shape(gateway):
    page = client(gateway).models.list()
    ids = [model.id for model in page.data]
    assert "o4-mini" in ids and "fast" in ids
    assert all(model.type == "model" for model in page.data)
