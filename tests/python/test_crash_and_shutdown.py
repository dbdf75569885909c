"""Nothing lost: kill -9 under concurrent load, restart, and reconcile the ledger against
the upstream's own list of what it served. And SIGTERM lets in-flight streams finish."""
import random
import subprocess
import signal
import sqlite3
import threading
import time

import httpx
import pytest

from conftest import Gateway, Process, strates_binary


@pytest.fixture
def sim_upstream():
    process = Process([strates_binary(), "sim", "serve", "--port", "0", "--latency-ms", "5", "--tokens-per-second", "300",
                       "--output-tokens-min", "10", "--output-tokens-max", "60"], r"listening on http://[\d.]+:(\d+)")
    process.url = f"http://127.0.0.1:{process.port}"
    yield process
    process.stop()


CRASH_CONFIG = """
ledger: {{flush_interval_ms: 200}}
providers:
  upstream_openai: {{kind: openai_compatible, base_url: "{url}/v1"}}
  upstream_anthropic: {{kind: anthropic, base_url: "{url}/v1", api_key_env: STUB_ANTHROPIC_KEY}}
models:
  - {{name: "gpt-*", provider: upstream_openai}}
  - {{name: "claude-*", provider: upstream_anthropic}}
"""

SHAPES = [
    ("/v1/chat/completions", {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "load"}]}),
    ("/v1/chat/completions", {"model": "gpt-4o-mini", "stream": True, "messages": [{"role": "user", "content": "load"}]}),
    ("/v1/messages", {"model": "claude-haiku-4-5", "max_tokens": 100, "messages": [{"role": "user", "content": "load"}]}),
    ("/v1/messages", {"model": "claude-haiku-4-5", "max_tokens": 100, "stream": True, "messages": [{"role": "user", "content": "load"}]}),
    ("/v1/responses", {"model": "gpt-5-codex", "stream": True, "input": "load"}),
]


def test_kill_9_under_load_loses_nothing(sim_upstream, tmp_path):
    gateway = Gateway(tmp_path, CRASH_CONFIG.format(url=sim_upstream.url))
    completed = []  # request ids whose full answer reached the client
    stop = threading.Event()

    def worker(seed):
        rng = random.Random(seed)
        with httpx.Client(base_url=gateway.url, timeout=10, headers={"authorization": f"Bearer {gateway.key}"}) as client:
            while not stop.is_set():
                path, body = rng.choice(SHAPES)
                try:
                    with client.stream("POST", path, json=body) as response:
                        data = b"".join(response.iter_bytes())
                        if response.status_code == 200 and (not body.get("stream") or b"[DONE]" in data
                                                            or b"message_stop" in data or b"response.completed" in data):
                            completed.append(response.headers["x-strates-request-id"])
                except httpx.HTTPError:
                    if stop.is_set():
                        return
                    time.sleep(0.01)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(16)]
    for thread in threads:
        thread.start()
    # Kill once the load is well under way (at least 150 served), however fast the machine is.
    deadline = time.time() + 20
    while time.time() < deadline and len(httpx.get(sim_upstream.url + "/sim/served").json()) < 150:
        time.sleep(0.2)
    gateway.stop(signal.SIGKILL)
    stop.set()
    for thread in threads:
        thread.join(timeout=15)
    served = {record["requestID"] for record in httpx.get(sim_upstream.url + "/sim/served").json()}
    assert len(served) >= 150, "the load did not run"

    gateway.start()  # recovery replays the journal before serving
    try:
        rows = gateway.rows()
        ids = [row["id"] for row in rows]
        assert len(ids) == len(set(ids)), "a request was recorded twice"
        missing = served - set(ids)
        assert not missing, f"{len(missing)} requests the upstream served are not in the ledger"
        by_id = {row["id"]: row for row in rows}
        for request_id in completed:
            assert by_id[request_id]["status"] == "completed", f"{request_id} reached the client complete"
        interrupted = [row for row in rows if row["status"] == "interrupted"]
        assert interrupted, "requests in flight at the kill should be recorded as interrupted"
        assert all(row["usage_estimated"] == 1 for row in interrupted)
        print(f"\ncrash reconciliation: upstream served {len(served)}, ledger holds {len(ids)} "
              f"({len(interrupted)} interrupted), {len(completed)} answers reached clients complete, 0 missing, 0 duplicated")
        # Restarting again adds nothing: recovery is idempotent.
        count = len(rows)
        gateway.stop()
        gateway.start()
        assert len(gateway.rows()) == count
    finally:
        gateway.stop()


def test_sigterm_lets_streams_finish_and_flushes(tmp_path):
    config = """
ledger: {flush_interval_ms: 60000}
providers:
  sim: {kind: sim}
models:
  - {name: "*", provider: sim}
"""
    gateway = Gateway(tmp_path, config)
    result = {}
    streaming = threading.Event()

    def slow_stream():
        with httpx.stream("POST", gateway.url + "/v1/chat/completions", timeout=30,
                          headers={"authorization": f"Bearer {gateway.key}", "x-sim-output-tokens": "30",
                                   "x-sim-tokens-per-second": "30"},
                          json={"model": "gpt-4o-mini", "stream": True, "messages": [{"role": "user", "content": "x"}]}) as response:
            result["id"] = response.headers["x-strates-request-id"]
            chunks = response.iter_bytes()
            result["body"] = next(chunks)
            streaming.set()  # the stream has begun: now shut the gateway down under it
            result["body"] += b"".join(chunks)

    thread = threading.Thread(target=slow_stream)
    thread.start()
    assert streaming.wait(timeout=15)
    assert gateway.stop(signal.SIGTERM) == 0
    thread.join(timeout=10)
    assert result["body"].rstrip().endswith(b"data: [DONE]"), "the in-flight stream was cut by shutdown"
    # The flush interval is a minute: only the shutdown flush can have written this row.
    connection = sqlite3.connect(gateway.db)
    row = connection.execute("SELECT status, output_tokens FROM requests WHERE id = ?", (result["id"],)).fetchone()
    connection.close()
    assert row == ("completed", 30)


def test_provider_down_and_provider_timeout(sim_upstream, tmp_path):
    import socket
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    config = f"""
ledger: {{flush_interval_ms: 50}}
providers:
  down: {{kind: openai_compatible, base_url: "http://127.0.0.1:{closed_port}/v1", connect_timeout_seconds: 2}}
  slow: {{kind: anthropic, base_url: "{sim_upstream.url}/v1", api_key_env: STUB_ANTHROPIC_KEY, timeout_seconds: 1}}
models:
  - {{name: "gpt-*", provider: down}}
  - {{name: "claude-*", provider: slow}}
"""
    gateway = Gateway(tmp_path, config)
    try:
        response = httpx.post(gateway.url + "/v1/chat/completions", headers={"authorization": f"Bearer {gateway.key}"},
                              json={"model": "gpt-4o", "messages": []}, timeout=10)
        assert response.status_code == 502
        assert response.json()["error"]["code"] == "upstream_unavailable"
        assert gateway.row_for(response.headers["x-strates-request-id"])["status"] == "failed"

        started = time.time()
        response = httpx.post(gateway.url + "/v1/messages", timeout=10,
                              headers={"x-api-key": gateway.key, "x-sim-fault": "timeout", "x-sim-hang-ms": "3000"},
                              json={"model": "claude-haiku-4-5", "max_tokens": 5, "messages": []})
        elapsed = time.time() - started
        assert response.status_code == 504
        assert response.json()["error"]["type"] == "timeout_error"
        assert elapsed < 2.5, f"the 1 s provider timeout took {elapsed:.1f} s"
        row = gateway.row_for(response.headers["x-strates-request-id"])
        assert (row["status"], row["http_status"]) == ("failed", 504)
    finally:
        gateway.stop()


def test_second_gateway_on_the_same_ledger_is_refused(tmp_path):
    config = """
providers:
  sim: {kind: sim}
"""
    first = Gateway(tmp_path, config)
    try:
        second = subprocess.run([strates_binary(), "serve", "--config", str(first.config), "--database", first.db, "--port", "0"],
                                capture_output=True, text=True, timeout=30, env=first.env)
        assert second.returncode != 0
        assert "another Strates process is using this ledger" in second.stderr + second.stdout
        # The first one is untouched and still serving.
        response = httpx.post(first.url + "/v1/chat/completions", headers={"authorization": f"Bearer {first.key}"},
                              json={"model": "sim", "messages": [{"role": "user", "content": "x"}]})
        assert response.status_code == 200
    finally:
        first.stop()


def test_sigterm_deadline_bounds_a_long_stream(tmp_path):
    config = """
server: {shutdown_grace_seconds: 1}
providers:
  sim: {kind: sim}
"""
    gateway = Gateway(tmp_path, config)
    streaming = threading.Event()
    result = {}

    def endless_stream():
        try:
            with httpx.stream("POST", gateway.url + "/v1/messages", timeout=30,
                              headers={"x-api-key": gateway.key, "x-sim-output-tokens": "600", "x-sim-tokens-per-second": "20"},
                              json={"model": "claude-haiku-4-5", "max_tokens": 1000, "stream": True,
                                    "messages": [{"role": "user", "content": "x"}]}) as response:
                result["id"] = response.headers["x-strates-request-id"]
                for _ in response.iter_bytes():
                    streaming.set()
        except httpx.HTTPError:
            pass

    thread = threading.Thread(target=endless_stream)
    thread.start()
    assert streaming.wait(timeout=15)
    started = time.time()
    gateway.stop(signal.SIGTERM)
    assert time.time() - started < 8, "shutdown waited past its deadline"
    thread.join(timeout=10)
    # Whether settled before exit or recovered from the journal on the next start, the
    # request is in the ledger once, metered as far as it got.
    gateway.start()
    try:
        rows = gateway.wait_rows(1, "id = ?", (result["id"],))
        assert len(rows) == 1 and rows[0]["status"] in ("cut", "interrupted")
        assert rows[0]["usage_estimated"] == 1
    finally:
        gateway.stop()
