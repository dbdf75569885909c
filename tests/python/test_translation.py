"""Formats crossing through Strates: the official OpenAI SDK calling an Anthropic model
(served by the stub upstream speaking the Messages API exactly) and the Anthropic SDK
calling an OpenAI-format model, whole and streamed, with tools, errors in the SDK's own
classes, the ledger metered from the upstream's answer, and what cannot be carried refused
clearly."""
import json

import anthropic
import openai
import pytest

from conftest import request_id_of


def client(gateway, **kwargs):
    return openai.OpenAI(base_url=gateway.url + "/v1", api_key=gateway.key, max_retries=0, **kwargs)


def test_openai_sdk_calls_an_anthropic_model(gateway, stub):
    raw = client(gateway).chat.completions.with_raw_response.create(
        model="claude-haiku-4-5", max_tokens=100, temperature=0.5, stop=["END"],
        messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Say hello."}])
    answer = raw.parse()
    assert answer.choices[0].message.content == "Hello from the stub." and answer.choices[0].finish_reason == "stop"
    # Anthropic usage in OpenAI's terms: prompt tokens include cache reads and writes.
    assert answer.usage.prompt_tokens == 12 + 2000 + 30000 and answer.usage.completion_tokens == 108
    assert answer.usage.prompt_tokens_details.cached_tokens == 30000

    sent = json.loads(stub.last("/v1/messages")["body"])
    assert sent["model"] == "claude-haiku-4-5" and sent["system"] == "Be brief." and sent["max_tokens"] == 100
    assert sent["messages"] == [{"role": "user", "content": [{"type": "text", "text": "Say hello."}]}]
    assert sent["stop_sequences"] == ["END"] and sent["temperature"] == 0.5

    row = gateway.row_for(request_id_of(raw))
    assert row["api"] == "chat_completions" and row["provider"] == "anthropic" and row["status"] == "completed"
    assert (row["input_tokens"], row["cache_read_tokens"], row["output_tokens"]) == (12, 30000, 108)
    assert row["cost_nano"] is not None and row["usage_estimated"] == 0


def test_tools_cross_both_ways(gateway, stub):
    tools = [{"type": "function", "function": {"name": "get_weather", "description": "Weather for a city",
                                               "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}]
    answer = client(gateway, default_headers={"x-stub-scenario": "tool"}).chat.completions.create(
        model="claude-haiku-4-5", max_tokens=100, tools=tools, tool_choice="required",
        messages=[{"role": "user", "content": "Weather in Paris?"}])
    call = answer.choices[0].message.tool_calls[0]
    assert answer.choices[0].finish_reason == "tool_calls" and call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {"city": "Paris"} and call.id == "toolu_stub"
    sent = json.loads(stub.last("/v1/messages")["body"])
    assert sent["tools"] == [{"name": "get_weather", "description": "Weather for a city",
                              "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}}]
    assert sent["tool_choice"] == {"type": "any"}

    # The tool's result goes back as a tool_result block in the user turn.
    client(gateway).chat.completions.create(model="claude-haiku-4-5", max_tokens=100, tools=tools, messages=[
        {"role": "user", "content": "Weather in Paris?"},
        {"role": "assistant", "content": None, "tool_calls": [{"id": "toolu_stub", "type": "function",
                                                               "function": {"name": "get_weather", "arguments": "{\"city\": \"Paris\"}"}}]},
        {"role": "tool", "tool_call_id": "toolu_stub", "content": "18°C, clear"}])
    sent = json.loads(stub.last("/v1/messages")["body"])
    assert sent["messages"][1]["content"][0] == {"type": "tool_use", "id": "toolu_stub", "name": "get_weather", "input": {"city": "Paris"}}
    assert sent["messages"][2]["content"][0] == {"type": "tool_result", "tool_use_id": "toolu_stub", "content": "18°C, clear"}


def test_anthropic_errors_reach_the_openai_sdk_in_its_own_classes(gateway):
    with pytest.raises(openai.RateLimitError) as limited:
        client(gateway, default_headers={"x-stub-scenario": "error-429"}).chat.completions.create(
            model="claude-haiku-4-5", max_tokens=10, messages=[{"role": "user", "content": "hi"}])
    body = limited.value.response.json()["error"]
    assert "stub error 429" in body["message"] and body["type"] == "rate_limit_error"


def test_what_cannot_be_carried_is_refused_clearly(gateway):
    with pytest.raises(openai.BadRequestError) as several:
        client(gateway).chat.completions.create(model="claude-haiku-4-5", n=2, messages=[{"role": "user", "content": "hi"}])
    assert "'n' above 1" in several.value.response.json()["error"]["message"]
    with pytest.raises(openai.BadRequestError) as hot:
        client(gateway).chat.completions.create(model="claude-haiku-4-5", temperature=1.7, messages=[{"role": "user", "content": "hi"}])
    assert "above 1" in hot.value.response.json()["error"]["message"]


def test_anthropic_sdk_calls_an_openai_model(gateway, stub):
    anthropic_client = anthropic.Anthropic(base_url=gateway.url, api_key=gateway.key, max_retries=0)
    raw = anthropic_client.messages.with_raw_response.create(
        model="gpt-4o", max_tokens=200, system="Be brief.", stop_sequences=["END"], metadata={"user_id": "u-9"},
        messages=[{"role": "user", "content": [{"type": "text", "text": "Say hello."}]}])
    message = raw.parse()
    assert message.content[0].text == "Hello from the stub." and message.stop_reason == "end_turn"
    # OpenAI usage in Anthropic's terms: cached prompt tokens are cache reads.
    assert (message.usage.input_tokens, message.usage.cache_read_input_tokens, message.usage.output_tokens) == (210, 1024, 56)
    sent = json.loads(stub.last("/v1/chat/completions")["body"])
    assert sent["messages"][0] == {"role": "system", "content": "Be brief."} and sent["max_completion_tokens"] == 200
    assert sent["stop"] == ["END"] and sent["user"] == "u-9"
    row = gateway.row_for(request_id_of(raw))
    assert row["api"] == "messages" and row["provider"] == "openai" and row["output_tokens"] == 56 and row["cache_read_tokens"] == 1024

    tools = [{"name": "get_weather", "description": "Weather", "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}}]
    called = anthropic.Anthropic(base_url=gateway.url, api_key=gateway.key, max_retries=0, default_headers={"x-stub-scenario": "tool"}).messages.create(
        model="gpt-4o", max_tokens=100, tools=tools, tool_choice={"type": "tool", "name": "get_weather"},
        messages=[{"role": "user", "content": "Weather in Paris?"}])
    assert called.stop_reason == "tool_use" and called.content[0].name == "get_weather" and called.content[0].input == {"city": "Paris"}
    sent = json.loads(stub.last("/v1/chat/completions")["body"])
    assert sent["tools"][0]["function"]["parameters"] == tools[0]["input_schema"]
    assert sent["tool_choice"] == {"type": "function", "function": {"name": "get_weather"}}

    with pytest.raises(anthropic.RateLimitError) as limited:
        anthropic.Anthropic(base_url=gateway.url, api_key=gateway.key, max_retries=0, default_headers={"x-stub-scenario": "error-429"}).messages.create(
            model="gpt-4o", max_tokens=10, messages=[{"role": "user", "content": "hi"}])
    assert limited.value.response.json()["error"]["type"] == "rate_limit_error"
    with pytest.raises(anthropic.BadRequestError) as top_k:
        anthropic_client.messages.create(model="gpt-4o", max_tokens=10, extra_body={"top_k": 5}, messages=[{"role": "user", "content": "hi"}])
    assert "'top_k' has no equivalent" in top_k.value.message


def test_openai_sdk_streams_from_an_anthropic_model(gateway, stub):
    with client(gateway).chat.completions.with_streaming_response.create(
            model="claude-haiku-4-5", max_tokens=100, stream=True, stream_options={"include_usage": True},
            messages=[{"role": "user", "content": "Say hello."}]) as raw:
        assert raw.headers["content-type"].startswith("text/event-stream")
        chunks = list(raw.parse())
        rid = request_id_of(raw)
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "Hello from the stub."
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == ["stop"]
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens == 108
    assert chunks[-1].usage.prompt_tokens == 12 + 2000 + 30000 and chunks[-1].usage.prompt_tokens_details.cached_tokens == 30000
    assert json.loads(stub.last("/v1/messages")["body"])["stream"] is True
    row = gateway.row_for(rid)
    assert row["api"] == "chat_completions" and row["provider"] == "anthropic" and row["status"] == "completed"
    assert (row["input_tokens"], row["cache_read_tokens"], row["output_tokens"], row["usage_estimated"]) == (12, 30000, 108, 0)
    assert row["ttft_ms"] is not None

    # The helper that accumulates a whole completion from the chunks, with a streamed tool call.
    tools = [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}]
    with client(gateway, default_headers={"x-stub-scenario": "tool"}).chat.completions.stream(
            model="claude-haiku-4-5", max_tokens=100, tools=tools, messages=[{"role": "user", "content": "Weather in Paris?"}]) as stream:
        final = stream.get_final_completion()
    call = final.choices[0].message.tool_calls[0]
    assert final.choices[0].finish_reason == "tool_calls" and call.id == "toolu_stub" and call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {"city": "Paris"}
    # Without include_usage the client gets no usage chunk, and the ledger still has the usage.
    assert final.usage is None


def test_anthropic_sdk_streams_from_an_openai_model(gateway, stub):
    anthropic_client = anthropic.Anthropic(base_url=gateway.url, api_key=gateway.key, max_retries=0)
    with anthropic_client.messages.stream(model="gpt-4o", max_tokens=100, messages=[{"role": "user", "content": "Say hello."}]) as stream:
        text = "".join(stream.text_stream)
        message = stream.get_final_message()
        rid = stream.response.headers["x-strates-request-id"]
    assert text == "Hello from the stub." and message.stop_reason == "end_turn"
    assert (message.usage.input_tokens, message.usage.cache_read_input_tokens, message.usage.output_tokens) == (210, 1024, 56)
    sent = json.loads(stub.last("/v1/chat/completions")["body"])
    assert sent["stream"] is True and sent["stream_options"] == {"include_usage": True}
    row = gateway.row_for(rid)
    assert row["api"] == "messages" and row["provider"] == "openai" and row["status"] == "completed"
    assert (row["input_tokens"], row["cache_read_tokens"], row["output_tokens"], row["usage_estimated"]) == (210, 1024, 56, 0)

    tools = [{"name": "get_weather", "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}}]
    tool_client = anthropic.Anthropic(base_url=gateway.url, api_key=gateway.key, max_retries=0, default_headers={"x-stub-scenario": "tool"})
    with tool_client.messages.stream(model="gpt-4o", max_tokens=100, tools=tools, messages=[{"role": "user", "content": "Weather?"}]) as stream:
        message = stream.get_final_message()
    assert message.stop_reason == "tool_use"
    block = message.content[0]
    assert block.type == "tool_use" and block.id == "call_abc" and block.name == "get_weather" and block.input == {"city": "Paris"}


def test_a_carried_stream_cut_midway_ends_with_an_error_in_the_clients_format(gateway):
    cut_before = len(gateway.rows("status = 'cut'"))
    cut_openai = client(gateway, default_headers={"x-stub-scenario": "cut"})
    with pytest.raises(openai.APIError) as broken:
        list(cut_openai.chat.completions.create(model="claude-haiku-4-5", max_tokens=50, stream=True,
                                                messages=[{"role": "user", "content": "hi"}]))
    assert "cut before it finished" in str(broken.value)
    cut_anthropic = anthropic.Anthropic(base_url=gateway.url, api_key=gateway.key, max_retries=0, default_headers={"x-stub-scenario": "cut"})
    with pytest.raises(anthropic.APIStatusError) as broken:
        with cut_anthropic.messages.stream(model="gpt-4o", max_tokens=50, messages=[{"role": "user", "content": "hi"}]) as stream:
            stream.get_final_message()
    assert "cut before it finished" in str(broken.value)
    cut = gateway.wait_rows(cut_before + 2, "status = 'cut'")[-2:]
    assert {(r["api"], r["provider"]) for r in cut} == {("chat_completions", "anthropic"), ("messages", "openai")}
    assert all(r["usage_estimated"] == 1 for r in cut)
