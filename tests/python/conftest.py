"""Live fixtures: the stub upstream and `strates serve` as real processes on loopback."""
import base64
import csv
import io
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent


def strates_binary():
    path = os.environ.get("STRATES_BIN") or str(ROOT / ".build" / "debug" / "strates")
    if not os.path.exists(path):
        pytest.exit(f"strates binary not found at {path}: build it first (swift build)", returncode=2)
    return path


def run_cli(*args, env=None, check=True):
    result = subprocess.run([strates_binary(), *args], capture_output=True, text=True, env=env, timeout=120)
    if check and result.returncode != 0:
        raise AssertionError(f"strates {' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result


class Process:
    """A child process whose first matching output line tells its port."""

    def __init__(self, argv, pattern, env=None, cwd=None):
        self.argv = argv
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=cwd)
        self.output = []
        deadline = time.time() + 60
        while time.time() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"{argv[0]} exited early:\n" + "".join(self.output))
                continue
            self.output.append(line)
            match = re.search(pattern, line)
            if match:
                self.port = int(match.group(1))
                break
        else:
            self.stop()
            raise RuntimeError(f"{argv[0]} did not start:\n" + "".join(self.output))
        # Keep draining output so the child never blocks on a full pipe.
        import threading
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self):
        for line in self.proc.stdout:
            self.output.append(line)

    def stop(self, sig=signal.SIGTERM, timeout=30):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


class Stub(Process):
    def __init__(self):
        super().__init__([sys.executable, str(HERE / "stub_upstream.py"), "0"], r"stub listening on (\d+)")
        self.url = f"http://127.0.0.1:{self.port}"

    def requests(self):
        with urllib.request.urlopen(self.url + "/_stub/requests") as response:
            items = json.loads(response.read())
        for item in items:
            item["body"] = base64.b64decode(item["body"])
        return items

    def last(self, path):
        matching = [r for r in self.requests() if r["path"] == path]
        return matching[-1] if matching else None


class Gateway:
    """`strates serve` on a fresh ledger, with a member key and an admin key."""

    def __init__(self, tmp: Path, config_text: str, env_extra=None):
        self.dir = tmp
        self.db = str(tmp / "ledger.db")
        self.config = tmp / "strates.yaml"
        self.config.write_text(config_text)
        self.env = dict(os.environ, STUB_OPENAI_KEY="stub-openai-key", STUB_ANTHROPIC_KEY="stub-anthropic-key", **(env_extra or {}))
        self.env.pop("STRATES_CONFIG", None)
        self.key = self.cli("keys", "create", "--member", "alice", "--team", "platform", "--environment", "personal", "--name", "alice-laptop", "--quiet").stdout.strip()
        self.admin_key = self.cli("keys", "create", "--member", "root", "--admin", "--quiet").stdout.strip()
        self.start()

    def cli(self, *args, check=True):
        return run_cli(*args, "--config", str(self.config), "--database", self.db, env=self.env, check=check)

    def start(self):
        self.process = Process([strates_binary(), "serve", "--config", str(self.config), "--database", self.db, "--port", "0"],
                               r"listening on http://[\d.]+:(\d+)", env=self.env, cwd=str(self.dir))
        self.url = f"http://127.0.0.1:{self.process.port}"

    def stop(self, sig=signal.SIGTERM):
        return self.process.stop(sig)

    def rows(self, where="1=1", args=()):
        connection = sqlite3.connect(self.db, timeout=10)
        connection.row_factory = sqlite3.Row
        try:
            return [dict(r) for r in connection.execute(f"SELECT * FROM requests WHERE {where} ORDER BY started_at", args)]
        finally:
            connection.close()

    def wait_rows(self, count, where="1=1", args=(), timeout=10):
        deadline = time.time() + timeout
        while time.time() < deadline:
            rows = self.rows(where, args)
            if len(rows) >= count:
                return rows
            time.sleep(0.05)
        raise AssertionError(f"expected {count} ledger rows for {where}, have {len(self.rows(where, args))}")

    def row_for(self, request_id, timeout=10):
        return self.wait_rows(1, "id = ?", (request_id,), timeout)[0]


STUB_CONFIG = """
server:
  max_body_bytes: 2000000
ledger:
  flush_interval_ms: 50
providers:
  openai:
    kind: openai
    base_url: {stub}/v1
    api_key_env: STUB_OPENAI_KEY
    timeout_seconds: 20
  anthropic:
    kind: anthropic
    base_url: {stub}/v1
    api_key_env: STUB_ANTHROPIC_KEY
  sim:
    kind: sim
    output_tokens: {{min: 5, max: 40}}
models:
  - {{name: "gpt-*", provider: openai}}
  - {{name: "text-embedding-*", provider: openai}}
  - {{name: "o4-mini", provider: openai}}
  - {{name: "claude-*", provider: anthropic}}
  - {{name: fast, provider: openai, model: gpt-4o-mini}}
  - {{name: "sim-*", provider: sim}}
"""


@pytest.fixture(scope="session")
def stub():
    process = Stub()
    yield process
    process.stop()


@pytest.fixture(scope="module")
def gateway(stub, tmp_path_factory):
    gw = Gateway(tmp_path_factory.mktemp("gateway"), STUB_CONFIG.format(stub=stub.url))
    yield gw
    gw.stop()


def request_id_of(raw_response):
    """The x-strates-request-id header of an SDK raw response or httpx response."""
    return raw_response.headers.get("x-strates-request-id")


# Helpers for the control tests (budgets, limits, policies) on a live gateway.

def api(gw, method, path, body=None, key=None):
    response = httpx.request(method, gw.url + path, json=body, headers={"authorization": f"Bearer {key or gw.admin_key}"}, timeout=30)
    return response.status_code, response.json()


def api_csv(gw, path, key=None):
    """A report route asked for CSV: (status, content type, rows as lists)."""
    response = httpx.get(gw.url + path, headers={"authorization": f"Bearer {key or gw.admin_key}"}, timeout=30)
    return response.status_code, response.headers.get("content-type", ""), list(csv.reader(io.StringIO(response.text)))


def member_key(gw, team, member):
    return gw.cli("keys", "create", "--member", member, "--team", team, "--quiet").stdout.strip()


def chat(gw, key, max_tokens=100, model="gpt-4o", headers=None, content="Plan the next step."):
    return httpx.post(gw.url + "/v1/chat/completions", headers={"authorization": f"Bearer {key}", **(headers or {})}, timeout=30,
                      json={"model": model, "max_tokens": max_tokens, "messages": [{"role": "user", "content": content}]})


def sim_control_config(providers, models):
    """A config for the control tests: simulated providers (name → latency in ms), the given
    model routes (YAML flow mappings), and control rules re-read every second."""
    lines = ["ledger:", "  flush_interval_ms: 50", "budgets:", "  reload_seconds: 1", "providers:"]
    for name, latency in providers.items():
        lines += [f"  {name}:", "    kind: sim", f"    latency_ms: {latency}", "    output_tokens: {min: 5, max: 20}"]
    return "\n".join(lines + ["models:"] + [f"  - {route}" for route in models]) + "\n"


def wait_for(predicate, timeout=10, what="condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")
