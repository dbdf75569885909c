"""A stub OpenAI + Anthropic upstream that speaks their wire formats exactly.

Responses carry fixed, known usage so tests can check that Strates meters exactly what
the upstream reported. Every request received is kept (headers and raw body) and served
at GET /_stub/requests. Behaviour is chosen per request by the `x-stub-scenario` header:
tool, thinking, usage-on-choice, cut, error-429, error-500, error-400, html-502.
"""
import base64
import json
import socket
import struct
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# Known usage per API (as each provider reports it).
CHAT_USAGE = {"prompt_tokens": 1234, "completion_tokens": 56, "total_tokens": 1290,
              "prompt_tokens_details": {"cached_tokens": 1024, "audio_tokens": 0},
              "completion_tokens_details": {"reasoning_tokens": 12, "audio_tokens": 0,
                                            "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0}}
RESPONSES_USAGE = {"input_tokens": 5000, "input_tokens_details": {"cached_tokens": 4096},
                   "output_tokens": 300, "output_tokens_details": {"reasoning_tokens": 256}, "total_tokens": 5300}
ANTHROPIC_START_USAGE = {"input_tokens": 12, "cache_creation_input_tokens": 2000, "cache_read_input_tokens": 30000,
                         "cache_creation": {"ephemeral_5m_input_tokens": 1500, "ephemeral_1h_input_tokens": 500},
                         "output_tokens": 8, "service_tier": "standard"}
ANTHROPIC_FINAL_OUTPUT = 108
SIGNATURE = "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds+aW3Q=="

LOCK = threading.Lock()
REQUESTS = []


def sse(event, data):
    head = f"event: {event}\n" if event else ""
    return (head + "data: " + (data if isinstance(data, str) else json.dumps(data, separators=(",", ":"))) + "\n\n").encode()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):
        if self.path == "/_stub/requests":
            with LOCK:
                body = json.dumps(REQUESTS).encode()
            self.send_whole(200, body)
        else:
            self.send_whole(404, b'{"error":"not found"}')

    def do_POST(self):
        length = int(self.headers.get("content-length", "0"))
        raw = self.rfile.read(length)
        if self.path == "/_stub/reset":
            with LOCK:
                REQUESTS.clear()
            return self.send_whole(200, b"{}")
        with LOCK:
            REQUESTS.append({"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()},
                             "body": base64.b64encode(raw).decode()})
        try:
            body = json.loads(raw)
        except ValueError:
            return self.send_error_json(400, "openai", "invalid JSON")
        scenario = self.headers.get("x-stub-scenario", "")
        path = self.path.split("?")[0]
        flavour = "anthropic" if path.startswith("/v1/messages") else "openai"
        if scenario.startswith("error-"):
            return self.send_error_json(int(scenario[6:]), flavour, "stub error " + scenario[6:])
        if scenario == "html-502":
            return self.send_whole(502, b"<html><body>Bad Gateway</body></html>", "text/html")
        model = body.get("model", "unknown")
        if path == "/v1/chat/completions":
            return self.chat(body, model, scenario)
        if path == "/v1/responses":
            return self.responses_api(body, model, scenario)
        if path == "/v1/embeddings":
            return self.embeddings(body, model)
        if path == "/v1/messages":
            return self.messages(body, model, scenario)
        if path == "/v1/messages/count_tokens":
            return self.send_whole(200, b'{"input_tokens":4242}')
        self.send_error_json(404, flavour, "no such path " + path)

    # --- plumbing -------------------------------------------------------------------------

    def send_whole(self, status, body, content_type="application/json", extra=None):
        self.send_response(status)
        self.send_header("content-type", content_type)
        self.send_header("content-length", str(len(body)))
        self.send_header("x-request-id", "req_stub_123")
        self.send_header("request-id", "req_stub_123")
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def send_error_json(self, status, flavour, message):
        extra = {"retry-after": "1"} if status == 429 else {}
        if flavour == "anthropic":
            kind = {400: "invalid_request_error", 401: "authentication_error", 429: "rate_limit_error",
                    500: "api_error", 529: "overloaded_error"}.get(status, "api_error")
            body = {"type": "error", "error": {"type": kind, "message": message}}
        else:
            body = {"error": {"message": message, "type": "server_error" if status >= 500 else "invalid_request_error",
                              "param": None, "code": None}}
        self.send_whole(status, json.dumps(body).encode(), extra=extra)

    def stream(self, events, cut=False):
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("transfer-encoding", "chunked")
        self.send_header("x-request-id", "req_stub_123")
        self.send_header("request-id", "req_stub_123")
        self.end_headers()
        limit = len(events) // 2 if cut else len(events)
        for chunk in events[:limit]:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            self.wfile.flush()
        if cut:
            # Drop the connection without the final chunk: a stream cut mid-way.
            self.connection.shutdown(socket.SHUT_RDWR)
            self.close_connection = True
            return
        self.wfile.write(b"0\r\n\r\n")

    # --- OpenAI Chat Completions ----------------------------------------------------------

    def chat(self, body, model, scenario):
        tool = scenario == "tool"
        # A hostile or broken upstream: `x-stub-usage` replaces the usage object, verbatim.
        usage = json.loads(self.headers["x-stub-usage"]) if self.headers.get("x-stub-usage") else CHAT_USAGE
        leaks = {"openai-organization": "org-upstream", "set-cookie": "session=upstream"} if scenario == "leaky-headers" else None
        if not body.get("stream") or scenario == "ignores-stream":
            message = {"role": "assistant", "content": "Hello from the stub.", "refusal": None, "annotations": []}
            finish = "stop"
            if tool:
                message = {"role": "assistant", "content": None, "refusal": None, "annotations": [], "tool_calls": [
                    {"id": "call_abc", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}]}
                finish = "tool_calls"
            return self.send_whole(200, json.dumps({
                "id": "chatcmpl-stub", "object": "chat.completion", "created": 1700000000, "model": model,
                "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish}],
                "usage": usage, "service_tier": "priority" if scenario == "priority" else "default",
                "system_fingerprint": "fp_stub", "x_future_field": {"kept": True},
            }).encode(), extra=leaks)
        include_usage = (body.get("stream_options") or {}).get("include_usage") is True
        base = {"id": "chatcmpl-stub", "object": "chat.completion.chunk", "created": 1700000000, "model": model,
                "system_fingerprint": "fp_stub"}

        def chunk(delta, finish=None, usage_field=True):
            data = dict(base, choices=[{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}])
            if include_usage and usage_field:
                data["usage"] = None
            return sse(None, data)

        events = [chunk({"role": "assistant", "content": "", "refusal": None})]
        if tool:
            events.append(chunk({"tool_calls": [{"index": 0, "id": "call_abc", "type": "function",
                                                 "function": {"name": "get_weather", "arguments": ""}}]}))
            for piece in ["{\"ci", "ty\":\"Pa", "ris\"}"]:
                events.append(chunk({"tool_calls": [{"index": 0, "function": {"arguments": piece}}]}))
            events.append(chunk({}, "tool_calls"))
        else:
            for word in ["Hello", " from", " the", " stub."]:
                events.append(chunk({"content": word}))
            if scenario == "usage-on-choice":
                data = dict(base, choices=[{"index": 0, "delta": {}, "logprobs": None, "finish_reason": "stop"}], usage=CHAT_USAGE)
                events.append(sse(None, data))
            else:
                events.append(chunk({}, "stop"))
        if include_usage and scenario != "usage-on-choice":
            events.append(sse(None, dict(base, choices=[], usage=usage)))
        events.append(sse(None, "[DONE]"))
        self.stream(events, cut=scenario == "cut")

    # --- OpenAI Responses -----------------------------------------------------------------

    def responses_api(self, body, model, scenario):
        def response(status, output, usage):
            return {"id": "resp_stub", "object": "response", "created_at": 1700000000, "status": status, "background": False,
                    "error": None, "incomplete_details": None, "instructions": None, "max_output_tokens": None, "model": model,
                    "output": output, "parallel_tool_calls": True, "previous_response_id": None,
                    "reasoning": {"effort": None, "summary": None}, "service_tier": "default", "store": False,
                    "temperature": 1.0, "text": {"format": {"type": "text"}, "verbosity": "medium"}, "tool_choice": "auto",
                    "tools": [], "top_p": 1.0, "truncation": "disabled", "usage": usage, "user": None, "metadata": {}}
        text = "Done."
        item = {"id": "msg_stub", "type": "message", "status": "completed", "role": "assistant",
                "content": [{"type": "output_text", "annotations": [], "logprobs": [], "text": text}]}
        if not body.get("stream"):
            return self.send_whole(200, json.dumps(response("completed", [item], RESPONSES_USAGE)).encode())
        seq = iter(range(1000))

        def event(kind, **fields):
            return sse(kind, dict({"type": kind, "sequence_number": next(seq)}, **fields))
        events = [
            event("response.created", response=response("in_progress", [], None)),
            event("response.in_progress", response=response("in_progress", [], None)),
            event("response.output_item.added", output_index=0,
                  item={"id": "msg_stub", "type": "message", "status": "in_progress", "content": [], "role": "assistant"}),
            event("response.content_part.added", item_id="msg_stub", output_index=0, content_index=0,
                  part={"type": "output_text", "annotations": [], "logprobs": [], "text": ""}),
            event("response.output_text.delta", item_id="msg_stub", output_index=0, content_index=0, delta=text, logprobs=[]),
            event("response.output_text.done", item_id="msg_stub", output_index=0, content_index=0, text=text, logprobs=[]),
            event("response.content_part.done", item_id="msg_stub", output_index=0, content_index=0,
                  part={"type": "output_text", "annotations": [], "logprobs": [], "text": text}),
            event("response.output_item.done", output_index=0, item=item),
            event("response.completed", response=response("completed", [item], RESPONSES_USAGE)),
        ]
        self.stream(events, cut=scenario == "cut")

    # --- OpenAI Embeddings ----------------------------------------------------------------

    def embeddings(self, body, model):
        inputs = body.get("input")
        count = len(inputs) if isinstance(inputs, list) else 1
        vector = [0.25, -0.5, 0.75]
        data = []
        for index in range(count):
            value = base64.b64encode(struct.pack("<3f", *vector)).decode() if body.get("encoding_format") == "base64" else vector
            data.append({"object": "embedding", "index": index, "embedding": value})
        self.send_whole(200, json.dumps({"object": "list", "data": data, "model": model,
                                         "usage": {"prompt_tokens": 8, "total_tokens": 8}}).encode())

    # --- Anthropic Messages ---------------------------------------------------------------

    def messages(self, body, model, scenario):
        final_usage = dict(ANTHROPIC_START_USAGE, output_tokens=ANTHROPIC_FINAL_OUTPUT)
        # A hostile or broken upstream: `x-stub-usage` is the whole answer's usage, and the
        # stream's closing message_delta usage.
        hostile = json.loads(self.headers["x-stub-usage"]) if self.headers.get("x-stub-usage") else None
        if hostile is not None:
            final_usage = hostile
        content = [{"type": "text", "text": "Hello from the stub."}]
        stop = "end_turn"
        if scenario == "thinking":
            content = [{"type": "thinking", "thinking": "Let me think.", "signature": SIGNATURE}] + content
        if scenario == "tool":
            content = [{"type": "tool_use", "id": "toolu_stub", "name": "get_weather", "input": {"city": "Paris"}}]
            stop = "tool_use"
        if not body.get("stream"):
            return self.send_whole(200, json.dumps({
                "id": "msg_stub", "type": "message", "role": "assistant", "model": model, "content": content,
                "stop_reason": stop, "stop_sequence": None, "usage": final_usage, "container": None,
            }).encode())
        events = [sse("message_start", {"type": "message_start", "message": {
            "id": "msg_stub", "type": "message", "role": "assistant", "model": model, "content": [], "stop_reason": None,
            "stop_sequence": None, "usage": ANTHROPIC_START_USAGE}})]
        index = 0
        if scenario == "thinking":
            events += [
                sse("content_block_start", {"type": "content_block_start", "index": 0,
                                            "content_block": {"type": "thinking", "thinking": "", "signature": ""}}),
                sse("content_block_delta", {"type": "content_block_delta", "index": 0,
                                            "delta": {"type": "thinking_delta", "thinking": "Let me think."}}),
                sse("content_block_delta", {"type": "content_block_delta", "index": 0,
                                            "delta": {"type": "signature_delta", "signature": SIGNATURE}}),
                sse("content_block_stop", {"type": "content_block_stop", "index": 0}),
            ]
            index = 1
        if scenario == "tool":
            events += [
                sse("content_block_start", {"type": "content_block_start", "index": 0, "content_block": {
                    "type": "tool_use", "id": "toolu_stub", "name": "get_weather", "input": {}}}),
                sse("content_block_delta", {"type": "content_block_delta", "index": 0,
                                            "delta": {"type": "input_json_delta", "partial_json": "{\"city\": "}}),
                sse("content_block_delta", {"type": "content_block_delta", "index": 0,
                                            "delta": {"type": "input_json_delta", "partial_json": "\"Paris\"}"}}),
                sse("content_block_stop", {"type": "content_block_stop", "index": 0}),
            ]
        else:
            events.append(sse("content_block_start", {"type": "content_block_start", "index": index,
                                                      "content_block": {"type": "text", "text": ""}}))
            events.append(sse("ping", {"type": "ping"}))
            for word in ["Hello", " from", " the", " stub."]:
                events.append(sse("content_block_delta", {"type": "content_block_delta", "index": index,
                                                          "delta": {"type": "text_delta", "text": word}}))
            events.append(sse("content_block_stop", {"type": "content_block_stop", "index": index}))
        events.append(sse("message_delta", {"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": None},
                                            "usage": hostile if hostile is not None else {"output_tokens": ANTHROPIC_FINAL_OUTPUT}}))
        events.append(sse("message_stop", {"type": "message_stop"}))
        self.stream(events, cut=scenario == "cut")


def main():
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    print(f"stub listening on {server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
