"""The model APIs are answered inside each connection's pipeline, ahead of the admin API's
router. On one keep-alive connection the two must still behave as one HTTP/1.1 server:
pipelined requests answered in order, `connection: close` honoured, oversized bodies
refused in the caller's format, and a client that stops reading slowed down, not buffered."""
import json
import socket
import time

import pytest

from conftest import Gateway

CONFIG = """
ledger: {flush_interval_ms: 50}
log_level: error
server: {max_body_bytes: 100000}
providers:
  sim: {kind: sim, output_tokens: {min: 20, max: 20}, models: {gpt-long: {output_tokens: {min: 20000, max: 20000}}}}
models:
  - {name: "*", provider: sim}
"""


@pytest.fixture(scope="module")
def gateway(tmp_path_factory):
    gw = Gateway(tmp_path_factory.mktemp("connections"), CONFIG)
    yield gw
    gw.stop()


def post(path, body, key, extra=""):
    data = json.dumps(body).encode()
    return (f"POST {path} HTTP/1.1\r\nhost: localhost\r\nauthorization: Bearer {key}\r\nx-api-key: {key}\r\n"
            f"anthropic-version: 2023-06-01\r\ncontent-type: application/json\r\ncontent-length: {len(data)}\r\n{extra}\r\n").encode() + data


def get(path):
    return f"GET {path} HTTP/1.1\r\nhost: localhost\r\n\r\n".encode()


def read_response(stream):
    """One HTTP/1.1 response from a buffered socket file: (status, headers, body)."""
    status_line = stream.readline()
    assert status_line.startswith(b"HTTP/1.1 "), status_line
    headers = {}
    while (line := stream.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode().partition(":")
        headers[name.strip().lower()] = value.strip()
    if "content-length" in headers:
        body = stream.read(int(headers["content-length"]))
    else:
        assert headers.get("transfer-encoding") == "chunked", headers
        body = b""
        while (size := int(stream.readline().strip(), 16)) > 0:
            body += stream.read(size)
            stream.readline()
        stream.readline()
    return int(status_line.split()[1]), headers, body


def chat(stream=False):
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
    if stream:
        body.update(stream=True, stream_options={"include_usage": True})
    return body


def test_pipelined_requests_are_answered_in_order(gateway):
    messages = {"model": "claude-haiku-4-5", "max_tokens": 50, "stream": True, "messages": [{"role": "user", "content": "hi"}]}
    batch = (post("/v1/chat/completions", chat(), gateway.key) + get("/healthz")
             + post("/v1/messages", messages, gateway.key) + post("/v1/chat/completions", chat(stream=True), gateway.key)
             + get("/healthz"))
    with socket.create_connection(("127.0.0.1", gateway.process.port), timeout=20) as sock:
        sock.sendall(batch)
        stream = sock.makefile("rb")
        answers = [read_response(stream) for _ in range(5)]
    assert [status for status, _, _ in answers] == [200] * 5
    assert json.loads(answers[0][2])["object"] == "chat.completion"
    assert json.loads(answers[1][2]) == {"status": "ok"}
    assert b"event: message_stop" in answers[2][2]
    assert answers[3][2].rstrip().endswith(b"data: [DONE]")
    assert json.loads(answers[4][2]) == {"status": "ok"}
    ids = {headers["x-strates-request-id"] for _, headers, _ in (answers[0], answers[2], answers[3])}
    deadline = time.time() + 10
    while time.time() < deadline and len([r for r in gateway.rows() if r["id"] in ids]) < 3:
        time.sleep(0.1)
    rows = [r for r in gateway.rows() if r["id"] in ids]
    assert len(rows) == 3 and all(r["status"] == "completed" and r["output_tokens"] > 0 for r in rows)


def test_connection_close_is_honoured(gateway):
    with socket.create_connection(("127.0.0.1", gateway.process.port), timeout=20) as sock:
        sock.sendall(post("/v1/chat/completions", chat(), gateway.key, extra="connection: close\r\n"))
        stream = sock.makefile("rb")
        status, _, body = read_response(stream)
        assert status == 200 and json.loads(body)["choices"]
        assert stream.read() == b"", "the server kept the connection open after connection: close"


@pytest.mark.parametrize("path,error_key", [("/v1/chat/completions", "error"), ("/v1/messages", "error")])
def test_oversized_body_is_refused_in_the_callers_format_and_the_connection_goes_on(gateway, path, error_key):
    big = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "x" * 200_000}]}
    with socket.create_connection(("127.0.0.1", gateway.process.port), timeout=20) as sock:
        sock.sendall(post(path, big, gateway.key) + post("/v1/chat/completions", chat(), gateway.key))
        stream = sock.makefile("rb")
        status, headers, body = read_response(stream)
        assert status == 413 and headers["content-type"] == "application/json"
        error = json.loads(body)
        assert "max_body_bytes" in error[error_key]["message"]
        if path == "/v1/messages":
            assert error["type"] == "error" and error["error"]["type"] == "request_too_large"
        assert read_response(stream)[0] == 200


def test_a_client_that_stops_reading_is_slowed_down_not_buffered(gateway):
    """A long stream to a client that reads nothing: the gateway waits for it (the stream is
    not finished behind its back, so nothing piles up in memory), and the stream then
    arrives whole and is metered."""
    body = chat(stream=True)
    body["model"] = "gpt-long"
    with socket.create_connection(("127.0.0.1", gateway.process.port), timeout=60) as sock:
        sock.sendall(post("/v1/chat/completions", body, gateway.key))
        time.sleep(1.5)
        rss = [gateway_rss_kb(gateway)]
        time.sleep(1.5)
        rss.append(gateway_rss_kb(gateway))
        assert not gateway.rows("requested_model = 'gpt-long'"), "the stream finished while the client read nothing"
        status, _, streamed = read_response(sock.makefile("rb", buffering=1 << 20))
    assert status == 200 and streamed.rstrip().endswith(b"data: [DONE]")
    assert rss[1] - rss[0] < 5_000, f"RSS grew {rss[1] - rss[0]} kB while the client was not reading"
    deadline = time.time() + 10
    while time.time() < deadline and not (rows := gateway.rows("requested_model = 'gpt-long'")):
        time.sleep(0.1)
    assert len(rows) == 1 and rows[0]["status"] == "completed" and rows[0]["output_tokens"] == 20000


def gateway_rss_kb(gateway):
    with open(f"/proc/{gateway.process.proc.pid}/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))
