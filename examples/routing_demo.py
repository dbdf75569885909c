"""Routing demo: drives a Strates started with examples/routing-demo.yaml through the
official OpenAI and Anthropic SDKs, and prints what each step did.

    STRATES_URL=http://127.0.0.1:7600 STRATES_KEY=sk-strates-… STRATES_ADMIN_KEY=sk-strates-… \\
        python examples/routing_demo.py
"""
import json
import os

import anthropic
import httpx
import openai

URL = os.environ.get("STRATES_URL", "http://127.0.0.1:7600")
KEY = os.environ["STRATES_KEY"]
ADMIN = os.environ["STRATES_ADMIN_KEY"]
TOOLS = [{"type": "function", "function": {"name": "read_file", "description": "Read a file",
                                          "parameters": {"type": "object", "properties": {"path": {"type": "string"}}}}}]
chat = openai.OpenAI(base_url=URL + "/v1", api_key=KEY, max_retries=0)
messages = anthropic.Anthropic(base_url=URL, api_key=KEY, max_retries=0)


def ask(model, **extra):
    raw = chat.chat.completions.with_raw_response.create(
        model=model, max_tokens=1000, messages=[{"role": "user", "content": "Rename the variable x to count."}], **extra)
    return raw.parse(), raw.headers


def step(title):
    print(f"\n== {title}")


step("1. fast: its first deployment answers 503; the client never sees it")
for _ in range(2):
    answer, headers = ask("fast")
    print(f"200 from {headers['x-strates-deployment']} after {headers.get('x-strates-fallbacks', '0')} fallback(s); "
          f"finish {answer.choices[0].finish_reason}, {answer.usage.completion_tokens} output tokens")

step("2. OpenAI SDK → Anthropic model (claude-sonnet-4-5), tools, whole and streamed")
answer, headers = ask("claude-sonnet-4-5", tools=TOOLS)
call = answer.choices[0].message.tool_calls[0]
print(f"{headers['x-strates-deployment']}: finish {answer.choices[0].finish_reason}, "
      f"tool call {call.function.name}({call.function.arguments[:40]}…), id {call.id}")
with chat.chat.completions.stream(model="claude-sonnet-4-5", max_tokens=1000, tools=TOOLS,
                                  messages=[{"role": "user", "content": "Open the README."}],
                                  stream_options={"include_usage": True}) as stream:
    final = stream.get_final_completion()
call = final.choices[0].message.tool_calls[0]
print(f"streamed: finish {final.choices[0].finish_reason}, tool call {call.function.name} with "
      f"{len(call.function.arguments)} argument bytes (valid JSON: {bool(json.loads(call.function.arguments))}), "
      f"usage {final.usage.prompt_tokens} in / {final.usage.completion_tokens} out")
with chat.chat.completions.stream(model="claude-sonnet-4-5", max_tokens=1000,
                                  messages=[{"role": "user", "content": "Say hello."}]) as stream:
    text = "".join(event.delta for event in stream if event.type == "content.delta")
print(f"streamed text: {len(text)} characters, e.g. {text[:40]!r}")

step("3. Anthropic SDK → OpenAI-format model (gpt-4.1-mini), tools, streamed")
anthropic_tools = [{"name": "read_file", "description": "Read a file", "input_schema": TOOLS[0]["function"]["parameters"]}]
with messages.messages.stream(model="gpt-4.1-mini", max_tokens=1000, tools=anthropic_tools,
                              messages=[{"role": "user", "content": "Open the README."}]) as stream:
    message = stream.get_final_message()
block = next(b for b in message.content if b.type == "tool_use")
print(f"stop {message.stop_reason}, tool_use {block.name} input {json.dumps(block.input)[:50]}…, "
      f"usage {message.usage.input_tokens} in / {message.usage.output_tokens} out")
with messages.messages.stream(model="gpt-4.1-mini", max_tokens=1000, messages=[{"role": "user", "content": "Say hello."}]) as stream:
    text = "".join(stream.text_stream)
print(f"streamed text: {len(text)} characters, stop {stream.get_final_message().stop_reason}")

step("4. strates/auto: the strongest tier until a cheaper one proves itself")
_, headers = ask("strates/auto")
print(f"auto → {headers['x-strates-auto-tier']}: {headers['x-strates-routing-reason']}")
for _ in range(3):
    _, headers = ask("fast")
    scored = httpx.post(URL + "/api/feedback", headers={"authorization": f"Bearer {ADMIN}"},
                        json={"request_id": headers["x-strates-request-id"], "score": 1, "source": "review"})
    scored.raise_for_status()
print("scored 3 requests served by fast: 1.0 each")
for _ in range(2):
    _, headers = ask("strates/auto")
    print(f"auto → {headers['x-strates-auto-tier']} ({headers['x-strates-deployment']}): {headers['x-strates-routing-reason']}")
_, headers = ask("strates/auto", tools=TOOLS)
print(f"with tools (agentic/medium, no scores yet) → {headers['x-strates-auto-tier']}")
