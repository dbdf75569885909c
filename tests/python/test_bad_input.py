"""Bad input against a live gateway: mutated bodies and headers must never crash it, every
answer must be a well-formed response in the route's own API format, and memory must stay
bounded. STRATES_FUZZ_CASES sets the number of requests (default 6,000 here; the reliability
bench runs 100,000)."""
import json
import os
import random
import socket
import threading

from conftest import Gateway

CASES = int(os.environ.get("STRATES_FUZZ_CASES", "6000"))

CONFIG = """
server: {max_body_bytes: 200000}
ledger: {flush_interval_ms: 100}
log_level: error
providers:
  sim: {kind: sim, output_tokens: {min: 1, max: 4}}
"""

ROUTES = [("/v1/chat/completions", "openai"), ("/v1/responses", "openai"), ("/v1/embeddings", "openai"),
          ("/v1/messages", "anthropic"), ("/v1/messages/count_tokens", "anthropic")]

SEEDS = [
    {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}], "stream": False, "max_tokens": 5},
    {"model": "claude-haiku-4-5", "max_tokens": 5, "stream": True, "messages": [{"role": "user", "content": "hi"}],
     "metadata": {"user_id": "u"}},
    {"model": "gpt-5-codex", "input": "x", "stream": True, "stream_options": {"include_usage": False}},
    {"model": "text-embedding-3-small", "input": ["a", "b"]},
]


def mutate(rng):
    seed = json.loads(json.dumps(rng.choice(SEEDS)))
    kind = rng.randrange(14)
    if kind == 0:  # wrong types for the fields Strates reads
        field = rng.choice(["model", "stream", "max_tokens", "metadata", "stream_options", "user"])
        seed[field] = rng.choice([None, 1, -1, 1e308, "x", [], {}, True, "\u0000", "é" * 50])
    elif kind == 1:  # huge numbers
        seed["max_tokens"] = rng.choice([10 ** 30, -(10 ** 30), 1.5e300, 9223372036854775808])
    elif kind == 2:  # deep nesting
        depth = rng.choice([100, 600, 5000])
        return ("{\"model\":\"m\",\"x\":" + "[" * depth + "]" * depth + "}").encode()
    elif kind == 3:  # missing model
        seed.pop("model", None)
    raw = json.dumps(seed).encode()
    if kind == 4:  # truncation
        return raw[: rng.randrange(len(raw))]
    if kind == 5:  # byte flips, invalid UTF-8 included
        raw = bytearray(raw)
        for _ in range(rng.randrange(1, 6)):
            raw[rng.randrange(len(raw))] = rng.randrange(256)
        return bytes(raw)
    if kind == 6:  # invalid UTF-8 inside a string
        return raw.replace(b'"hi"', b'"\xff\xfe\xc3"')
    if kind == 7:  # not an object
        return rng.choice([b"[]", b"null", b"42", b'"s"', b"", b"{}", b"{\"model\":\"m\"}{}"])
    if kind == 8:  # oversized
        return b'{"model":"gpt-4o-mini","pad":"' + b"a" * 250_000 + b'"}'
    if kind == 9:  # duplicate keys, unicode escapes in the model name
        return b'{"model":"gpt-4o-mini","model":"\\u0067pt-4o","messages":[],"stream":false,"stream":true}'
    return raw


def send(port, method, path, headers, body, timeout=10):
    """A raw HTTP/1.1 exchange, so headers and bodies can be as broken as we like."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        head = f"{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\nConnection: close\r\n".encode()
        for name, value in headers:
            head += name + b": " + value + b"\r\n"
        sock.sendall(head + b"\r\n" + body)
        chunks = []
        while True:
            data = sock.recv(65536)
            if not data:
                break
            chunks.append(data)
    return b"".join(chunks)


def parse(response):
    head, _, body = response.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    headers = {line.split(b":", 1)[0].strip().lower(): line.split(b":", 1)[1].strip() for line in head.split(b"\r\n")[1:] if b":" in line}
    if headers.get(b"transfer-encoding") == b"chunked":
        decoded, rest = b"", body
        while rest:
            size_line, _, rest = rest.partition(b"\r\n")
            size = int(size_line.split(b";")[0] or b"0", 16)
            if size == 0:
                break
            decoded, rest = decoded + rest[:size], rest[size + 2:]
        body = decoded
    return status, headers, body


def check(status, headers, body, flavour, invalid_http=False):
    assert 200 <= status < 600
    if invalid_http and status == 400 and body == b"":
        # Not valid HTTP (control characters in a header): the HTTP layer refuses it with a
        # bare 400 and closes, before any route could tell which API the caller speaks.
        assert headers.get(b"connection") == b"close"
        return
    if status >= 400:
        error = json.loads(body)
        if flavour == "anthropic":
            assert error["type"] == "error" and error["error"]["type"] and error["error"]["message"], body
        else:
            assert error["error"]["message"] and error["error"]["type"], body
    elif headers.get(b"content-type", b"").startswith(b"text/event-stream"):
        assert b"data:" in body
    else:
        json.loads(body)


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def test_mutated_requests_never_break_the_gateway(tmp_path):
    gateway = Gateway(tmp_path, CONFIG)
    key = gateway.key.encode()
    failures = []
    counts = {}
    lock = threading.Lock()
    rss_after_warmup = []

    def worker(index, cases):
        rng = random.Random(index)
        for case in range(cases):
            path, flavour = rng.choice(ROUTES)
            headers = [(b"authorization", b"Bearer " + key), (b"content-type", b"application/json")]
            mutation = rng.randrange(10)
            invalid_http = False
            if mutation == 0:
                headers = [(b"authorization", rng.choice([b"Bearer", b"Bearer \xff\xfe", b"Basic x", b"Bearer " + b"k" * 4000]))]
            elif mutation == 1:  # wrong content types, one of them not valid HTTP
                headers.append((b"content-type", rng.choice([b"text/plain", b"\x01\x02", b"application/x-www-form-urlencoded"])))
                invalid_http = headers[-1][1] == b"\x01\x02"
            elif mutation == 2:
                headers.append((b"x-strates-run", b"r" * rng.choice([10, 5000])))
                headers.append((b"traceparent", rng.choice([b"00-xyz", b"garbage", b"00-" + b"f" * 32 + b"-" + b"a" * 16 + b"-01"])))
            elif mutation == 3:
                headers.append((b"x-api-key", b"\xc3\x28"))
            body = mutate(rng)
            try:
                status, response_headers, response_body = parse(send(gateway.process.port, "POST", path, headers, body))
                check(status, response_headers, response_body, flavour, invalid_http)
                with lock:
                    counts[status] = counts.get(status, 0) + 1
            except Exception as error:  # noqa: BLE001 - collected and reported below
                with lock:
                    failures.append((path, headers[-1], body[:120], repr(error)[:200]))
            if index == 0 and case == cases // 4:
                rss_after_warmup.append(rss_kb(gateway.process.proc.pid))

    try:
        threads = [threading.Thread(target=worker, args=(i, CASES // 8)) for i in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert not failures, f"{len(failures)} malformed answers, first: {failures[:3]}"
        assert gateway.process.proc.poll() is None, "the gateway died"
        final_rss = rss_kb(gateway.process.proc.pid)
        assert final_rss < 200_000, f"RSS grew to {final_rss} KB"
        assert final_rss < rss_after_warmup[0] + 60_000, f"RSS grew from {rss_after_warmup[0]} to {final_rss} KB"
        assert sum(counts.values()) == (CASES // 8) * 8
        assert any(s >= 400 for s in counts) and any(s < 300 for s in counts)
        print(f"\nbad input: {sum(counts.values())} requests, statuses {dict(sorted(counts.items()))}, "
              f"RSS {rss_after_warmup[0]} -> {final_rss} KB, 0 malformed answers")
    finally:
        gateway.stop()
