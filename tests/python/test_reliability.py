"""Reliability: every upstream fault gives the client a well-formed answer in its own API
format within the configured timeouts, and is metered; clients that read slowly, upload
slowly or vanish mid-stream leak nothing and are still metered; SIGTERM under load lets
every in-flight request finish and flushes the ledger."""
import json
import os
import socket
import threading
import time

import httpx
import pytest

from conftest import Gateway, Process, strates_binary


@pytest.fixture(scope="module")
def sim_server():
    process = Process([strates_binary(), "sim", "serve", "--port", "0", "--output-tokens-min", "20",
                       "--output-tokens-max", "20"], r"listening on http://[\d.]+:(\d+)")
    process.url = f"http://127.0.0.1:{process.port}"
    yield process
    process.stop()


def closed_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def faulty(sim_server, tmp_path_factory):
    """A gateway in front of the sim server with short timeouts, and one provider nobody answers for."""
    down = closed_port()
    config = f"""
ledger: {{flush_interval_ms: 50}}
log_level: error
providers:
  openai_up: {{kind: openai_compatible, base_url: "{sim_server.url}/v1", timeout_seconds: 2, read_timeout_seconds: 2}}
  anthropic_up: {{kind: anthropic, base_url: "{sim_server.url}/v1", api_key_env: STUB_ANTHROPIC_KEY, timeout_seconds: 2, read_timeout_seconds: 2}}
  openai_down: {{kind: openai_compatible, base_url: "http://127.0.0.1:{down}/v1", connect_timeout_seconds: 2}}
  anthropic_down: {{kind: anthropic, base_url: "http://127.0.0.1:{down}/v1", api_key_env: STUB_ANTHROPIC_KEY, connect_timeout_seconds: 2}}
models:
  - {{name: "gpt-down", provider: openai_down}}
  - {{name: "claude-down", provider: anthropic_down}}
  - {{name: "gpt-*", provider: openai_up}}
  - {{name: "claude-*", provider: anthropic_up}}
"""
    gateway = Gateway(tmp_path_factory.mktemp("faulty"), config)
    yield gateway
    gateway.stop()


APIS = {
    "openai": ("/v1/chat/completions", "gpt-4o-mini", "gpt-down"),
    "anthropic": ("/v1/messages", "claude-haiku-4-5", "claude-down"),
}

# fault -> (headers, expected HTTP status for a whole answer, for a stream, ledger status)
FAULTS = {
    "429": ({"x-sim-fault": "429"}, 429, 429, "failed"),
    "500": ({"x-sim-fault": "500"}, 500, 500, "failed"),
    "503": ({"x-sim-fault": "503"}, 503, 503, "failed"),
    "refused": ({}, 502, 502, "failed"),
    "timeout-before-headers": ({"x-sim-fault": "timeout", "x-sim-hang-ms": "8000"}, 504, 504, "failed"),
    "cut": ({"x-sim-fault": "cut"}, 502, 200, "cut"),
    "malformed": ({"x-sim-fault": "malformed"}, 502, 200, None),
    "trickle": ({"x-sim-tokens-per-second": "60"}, 200, 200, "completed"),
    "stall-mid-stream": ({"x-sim-ttft-ms": "6000"}, None, 200, "cut"),
}


def assert_error_body(api, data):
    body = json.loads(data)
    if api == "openai":
        assert isinstance(body["error"]["message"], str) and body["error"]["message"], body
        assert isinstance(body["error"]["type"], str), body
    else:
        assert body["type"] == "error" and body["error"]["type"] and body["error"]["message"], body


def sse_events(raw):
    """(event name, data) pairs of a complete SSE body; fails on a torn event."""
    text = raw.decode("utf-8")
    assert text.endswith("\n\n"), f"the stream does not end on an event boundary: {text[-200:]!r}"
    events = []
    for block in text.strip("\n").split("\n\n"):
        name, data = None, []
        for line in block.split("\n"):
            if line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].strip())
        events.append((name, "\n".join(data)))
    return events


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
@pytest.mark.parametrize("api", sorted(APIS))
@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_upstream_fault_gives_a_well_formed_answer_in_time(faulty, fault, api, stream):
    headers, whole_status, stream_status, ledger_status = FAULTS[fault]
    expected_status = stream_status if stream else whole_status
    if expected_status is None:
        pytest.skip("a stall between events only exists in a stream")
    path, model, down_model = APIS[api]
    body = {"model": down_model if fault == "refused" else model, "max_tokens": 50,
            "messages": [{"role": "user", "content": f"fault {fault}"}]}
    if stream:
        body["stream"] = True
    auth = {"authorization": f"Bearer {faulty.key}"} if api == "openai" else {"x-api-key": faulty.key, "anthropic-version": "2023-06-01"}
    started = time.time()
    response = httpx.post(faulty.url + path, json=body, headers={**auth, **headers}, timeout=30)
    elapsed = time.time() - started
    # Timeouts are 2 s (head) and 2 s (between reads); nothing may hang much past them.
    assert elapsed < 5, f"{fault} took {elapsed:.1f} s"
    assert response.status_code == expected_status, response.text[:300]
    request_id = response.headers["x-strates-request-id"]

    if expected_status != 200:
        assert response.headers["content-type"].startswith("application/json")
        assert_error_body(api, response.content)
    elif stream:
        events = sse_events(response.content)
        last_name, last_data = events[-1]
        if ledger_status == "cut":
            # A stream that began cannot change its status: it ends with an error event in the API's own shape.
            if api == "openai":
                assert_error_body(api, last_data)
            else:
                assert last_name == "error"
                assert_error_body(api, last_data)
        elif api == "openai":
            assert last_data == "[DONE]"
        else:
            assert last_name == "message_stop"
    else:
        assert response.json()["usage"]

    row = faulty.row_for(request_id)
    if ledger_status:
        assert row["status"] == ledger_status, row
    if fault == "malformed" and stream:
        # The provider's bytes pass unchanged (Strates never rewrites a stream); metering
        # reads past the broken event and still finds the final usage.
        assert row["status"] == "completed" and row["usage_estimated"] == 0 and row["output_tokens"] == 20
    if row["status"] == "cut":
        assert row["usage_estimated"] == 1 and row["input_tokens"] > 0, "a partial stream is metered as an estimate"
    if fault == "trickle":
        assert row["output_tokens"] == 20 and row["usage_estimated"] == 0
    assert row["http_status"] in (expected_status, 200, 502)


def gateway_fds(gateway):
    return len(os.listdir(f"/proc/{gateway.process.proc.pid}/fd"))


def gateway_rss_mb(gateway):
    with open(f"/proc/{gateway.process.proc.pid}/status") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0


SIM_CONFIG = """
ledger: {flush_interval_ms: 50}
log_level: error
providers:
  sim: {kind: sim, output_tokens: {min: 20, max: 20}}
models:
  - {name: "*", provider: sim}
"""


def raw_request(port, path, body, headers):
    payload = json.dumps(body).encode()
    head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {len(payload)}\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
    return head.encode() + payload


def vanish_mid_stream(port, key, abort):
    """Starts a slow stream, reads its first bytes, then goes away (RST when abort)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    if abort:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    sock.sendall(raw_request(port, "/v1/chat/completions",
                             {"model": "gpt-4o-mini", "stream": True, "messages": [{"role": "user", "content": "bye"}]},
                             {"authorization": f"Bearer {key}", "x-sim-tokens-per-second": "20", "x-sim-output-tokens": "200"}))
    data = b""
    while b"data:" not in data:
        chunk = sock.recv(4096)
        assert chunk, "the gateway closed before the stream began"
        data += chunk
    sock.close()
    return data.split(b"x-strates-request-id: ")[1].split(b"\r\n")[0].decode()


def test_vanishing_clients_are_metered_and_leak_nothing(tmp_path):
    gateway = Gateway(tmp_path, SIM_CONFIG)
    try:
        port = gateway.process.port
        vanish_mid_stream(port, gateway.key, abort=False)  # warm the key cache and the allocator
        time.sleep(0.5)
        fds_before, rss_before = gateway_fds(gateway), gateway_rss_mb(gateway)
        rounds = []
        for round_number in range(3):
            ids = []
            lock = threading.Lock()

            def client(index):
                request_id = vanish_mid_stream(port, gateway.key, abort=index % 2 == 0)
                with lock:
                    ids.append(request_id)

            threads = [threading.Thread(target=client, args=(i,)) for i in range(100)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=30)
            assert len(ids) == 100
            rows = gateway.wait_rows(100 * (round_number + 1) + 1, "status = 'cut'", timeout=20)
            cut = {row["id"] for row in rows}
            assert set(ids) <= cut, "every vanished client's request is metered as cut"
            time.sleep(0.5)
            rounds.append((gateway_fds(gateway), gateway_rss_mb(gateway)))
        for fds, rss in rounds:
            assert fds <= fds_before + 8, f"file descriptors grew from {fds_before} to {fds}: connections leak"
        growth = rounds[-1][1] - rounds[0][1]
        assert growth < 8, f"RSS kept growing after the first round of vanishing clients: {rounds} (before {rss_before:.1f} MB)"
        print(f"\nvanishing clients: 300 streams dropped mid-way, all metered as cut; fds {fds_before} -> "
              f"{[r[0] for r in rounds]}, RSS {rss_before:.1f} -> {[round(r[1], 1) for r in rounds]} MB")
    finally:
        gateway.stop()


def test_slow_reader_gets_the_whole_stream_and_slow_upload_is_served(tmp_path):
    gateway = Gateway(tmp_path, SIM_CONFIG)
    try:
        port = gateway.process.port
        # A reader that takes 64 bytes at a time with pauses, from a fast 2,000-token stream.
        sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.sendall(raw_request(port, "/v1/chat/completions",
                                 {"model": "gpt-4o-mini", "stream": True, "messages": [{"role": "user", "content": "long"}]},
                                 {"authorization": f"Bearer {gateway.key}", "x-sim-output-tokens": "2000", "connection": "close"}))
        data = b""
        while True:
            chunk = sock.recv(64)
            if not chunk:
                break
            data += chunk
            if len(data) % 8192 < 64:
                time.sleep(0.01)
        sock.close()
        # Chunked encoding: the last chunk holds [DONE], then the zero-length terminator.
        assert data.endswith(b"0\r\n\r\n") and b"data: [DONE]" in data[-40:], data[-200:]
        request_id = data.split(b"x-strates-request-id: ")[1].split(b"\r\n")[0].decode()
        row = gateway.row_for(request_id)
        assert (row["status"], row["output_tokens"]) == ("completed", 2000)

        # A client that uploads its body over two seconds.
        payload = raw_request(port, "/v1/messages", {"model": "claude-haiku-4-5", "max_tokens": 30, "system": "s" * 20000,
                                                     "messages": [{"role": "user", "content": "slow"}]},
                              {"x-api-key": gateway.key, "anthropic-version": "2023-06-01", "connection": "close"})
        sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        for start in range(0, len(payload), len(payload) // 20 + 1):
            sock.sendall(payload[start:start + len(payload) // 20 + 1])
            time.sleep(0.1)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
        sock.close()
        assert data.startswith(b"HTTP/1.1 200"), data[:300]
        body = json.loads(data.split(b"\r\n\r\n", 1)[1])
        assert body["type"] == "message" and body["usage"]["output_tokens"] == 20
    finally:
        gateway.stop()


def test_sigterm_under_load_finishes_in_flight_requests_and_flushes(tmp_path):
    config = SIM_CONFIG.replace("flush_interval_ms: 50", "flush_interval_ms: 60000")
    gateway = Gateway(tmp_path, config)
    results, lock = [], threading.Lock()
    begun = threading.Barrier(33)

    def client(index):
        stream = index % 2 == 0
        path, body = (("/v1/chat/completions", {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "t"}]})
                      if index % 4 < 2 else
                      ("/v1/messages", {"model": "claude-haiku-4-5", "max_tokens": 40, "messages": [{"role": "user", "content": "t"}]}))
        if stream:
            body["stream"] = True
        headers = {"authorization": f"Bearer {gateway.key}", "anthropic-version": "2023-06-01",
                   "x-sim-tokens-per-second": "20", "x-sim-latency-ms": "300"}
        with httpx.Client(timeout=30) as http:
            with http.stream("POST", gateway.url + path, json=body, headers=headers) as response:
                begun.wait(timeout=20)
                data = b"".join(response.iter_bytes())
        with lock:
            results.append((response.status_code, response.headers["x-strates-request-id"], stream, data))

    threads = [threading.Thread(target=client, args=(i,)) for i in range(32)]
    for thread in threads:
        thread.start()
    begun.wait(timeout=20)  # every request has its response head: all 32 are in flight
    gateway.stop()  # SIGTERM, waits for the process to exit
    for thread in threads:
        thread.join(timeout=10)
    assert len(results) == 32
    for status, request_id, stream, data in results:
        assert status == 200
        if stream:
            assert data.rstrip().endswith(b"data: [DONE]") or b"event: message_stop" in data, data[-200:]
        else:
            assert json.loads(data)["usage"]
    # The flush interval is a minute: only the shutdown flush can have written these rows.
    rows = {row["id"]: row for row in gateway.rows()}
    for _, request_id, _, _ in results:
        assert rows[request_id]["status"] == "completed" and rows[request_id]["output_tokens"] == 20


def test_memory_goes_back_after_a_burst_of_large_prompts(tmp_path):
    """A burst of coding-agent-sized prompts raises RSS; within seconds of it ending the
    gateway hands the memory back (glibc keeps freed bodies in its arenas otherwise)."""
    config = SIM_CONFIG.replace("log_level: error", "log_level: error\nserver: {max_body_bytes: 2000000}")
    gateway = Gateway(tmp_path, config)
    try:
        # 1.6 MB prompts: the gateway works on each connection's event loop, so only a few
        # requests are parsed at once; the bodies still being received are what piles up.
        system = "".join(f"    func step{i}(_ v: Int) -> Int {{ v &* {i % 97} }} // File{i % 300}.swift\n" for i in range(28000))
        body = {"model": "gpt-4o-mini", "messages": [{"role": "system", "content": system}, {"role": "user", "content": "go"}]}
        assert len(json.dumps(body)) > 1_600_000
        with httpx.Client(timeout=60) as http:  # warm up
            http.post(gateway.url + "/v1/chat/completions", json=body, headers={"authorization": f"Bearer {gateway.key}"})
        time.sleep(6)
        baseline = gateway_rss_mb(gateway)
        peak, lock = [baseline], threading.Lock()

        def client():
            with httpx.Client(timeout=60) as http:
                for _ in range(2):
                    response = http.post(gateway.url + "/v1/chat/completions", json=body,
                                         headers={"authorization": f"Bearer {gateway.key}"})
                    assert response.status_code == 200
                    with lock:
                        peak[0] = max(peak[0], gateway_rss_mb(gateway))

        threads = [threading.Thread(target=client) for _ in range(64)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert peak[0] - baseline > 60, f"the burst did not raise memory (baseline {baseline:.0f} MB, peak {peak[0]:.0f} MB)"
        deadline, after = time.time() + 15, gateway_rss_mb(gateway)
        while time.time() < deadline and after > baseline + 40:
            time.sleep(0.5)
            after = gateway_rss_mb(gateway)
        print(f"\nburst of 128 large prompts: RSS {baseline:.0f} -> {peak[0]:.0f} -> {after:.0f} MB")
        assert after <= baseline + 40, f"RSS stayed at {after:.0f} MB after the burst (baseline {baseline:.0f}, peak {peak[0]:.0f})"
    finally:
        gateway.stop()
