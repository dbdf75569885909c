"""The gateway's own upstream client (keep-alive connections pooled per event loop) against
upstreams that misbehave at the connection level: closing kept connections, refusing to
keep them, holding many calls at once, and presenting a certificate nobody trusts."""
import contextlib
import json
import socketserver
import ssl
import subprocess
import threading
import time

import httpx
from conftest import Gateway, run_cli, wait_for

ANSWER = {"id": "chatcmpl-up", "object": "chat.completion", "created": 1, "model": "gpt-4o",
          "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}],
          "usage": {"prompt_tokens": 11, "completion_tokens": 3, "total_tokens": 14}}


class Upstream(socketserver.ThreadingTCPServer):
    """An OpenAI chat upstream on a raw socket: `close_after` closes each connection that
    long after answering (while its answer said keep-alive); `delay` holds each answer;
    `connection_close` answers with `connection: close`; `first_only` answers only the
    first request on each connection and closes on the next without a byte (the race of a
    kept connection the upstream drops just as a call is sent). Counts connections."""
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, close_after=None, delay=0.0, connection_close=False, tls=None, first_only=False):
        self.close_after, self.delay, self.connection_close, self.tls = close_after, delay, connection_close, tls
        self.first_only = first_only
        self.connections = 0
        self.open_now = 0
        self.most_open = 0
        self.lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), UpstreamHandler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def port(self):
        return self.server_address[1]


class UpstreamHandler(socketserver.StreamRequestHandler):
    def setup(self):
        if self.server.tls:
            self.request = self.server.tls.wrap_socket(self.request, server_side=True)
        super().setup()

    def handle(self):
        server = self.server
        with server.lock:
            server.connections += 1
            server.open_now += 1
            server.most_open = max(server.most_open, server.open_now)
        try:
            answered = 0
            while True:
                line = self.rfile.readline()
                if not line or (server.first_only and answered):
                    return
                answered += 1
                length = 0
                while (header := self.rfile.readline()) not in (b"\r\n", b""):
                    name, _, value = header.decode().partition(":")
                    if name.strip().lower() == "content-length":
                        length = int(value)
                self.rfile.read(length)
                time.sleep(server.delay)
                body = json.dumps(ANSWER).encode()
                connection = "close" if server.connection_close else "keep-alive"
                self.wfile.write(f"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {len(body)}\r\n"
                                 f"connection: {connection}\r\n\r\n".encode() + body)
                self.wfile.flush()
                if server.connection_close:
                    return
                if server.close_after is not None:
                    time.sleep(server.close_after)
                    return
        except (ConnectionError, ssl.SSLError, OSError):
            return
        finally:
            with server.lock:
                server.open_now -= 1


def gateway_for(tmp_path, upstream, scheme="http", extra=""):
    config = f"""
ledger: {{flush_interval_ms: 50}}
log_level: error
providers:
  up: {{kind: openai_compatible, base_url: "{scheme}://127.0.0.1:{upstream.port}/v1"{extra}}}
models:
  - {{name: "*", provider: up}}
"""
    return Gateway(tmp_path, config)


@contextlib.contextmanager
def serving(tmp_path, scheme="http", extra="", **upstream_options):
    """An upstream with `upstream_options` and a gateway in front of it, both stopped after."""
    upstream = Upstream(**upstream_options)
    gw = gateway_for(tmp_path, upstream, scheme=scheme, extra=extra)
    try:
        yield upstream, gw
    finally:
        gw.stop()
        upstream.shutdown()


def ask(gw, http=None):
    client = http or httpx
    return client.post(gw.url + "/v1/chat/completions", json={"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]},
                       headers={"authorization": f"Bearer {gw.key}"}, timeout=30)


def test_a_kept_connection_the_upstream_closed_is_replaced_without_an_error(tmp_path):
    with serving(tmp_path, close_after=0.05) as (upstream, gw):
        for _ in range(4):
            response = ask(gw)
            assert response.status_code == 200, response.text
            assert response.json()["usage"]["completion_tokens"] == 3
            time.sleep(0.3)  # the upstream has closed the connection the gateway kept
        assert upstream.connections == 4
        wait_for(lambda: len(gw.rows()) == 4, what="four rows")
        assert all(r["status"] == "completed" and r["output_tokens"] == 3 for r in gw.rows())


def test_a_call_on_a_kept_connection_the_upstream_drops_is_sent_again_on_a_new_one(tmp_path):
    with serving(tmp_path, first_only=True) as (upstream, gw):
        with httpx.Client() as http:
            for _ in range(5):
                response = ask(gw, http)
                assert response.status_code == 200, response.text
        assert upstream.connections >= 5


def test_connections_are_kept_and_reused(tmp_path):
    with serving(tmp_path) as (upstream, gw):
        with httpx.Client() as http:
            for _ in range(20):
                assert ask(gw, http).status_code == 200
        assert upstream.connections <= 2, f"{upstream.connections} connections for 20 calls one after another"


def test_an_upstream_that_closes_after_each_answer_is_served(tmp_path):
    with serving(tmp_path, connection_close=True) as (upstream, gw):
        with httpx.Client() as http:
            for _ in range(5):
                assert ask(gw, http).status_code == 200
        assert upstream.connections == 5


def test_max_connections_holds_calls_until_a_connection_is_free(tmp_path):
    with serving(tmp_path, extra=", max_connections: 2", delay=0.2) as (upstream, gw):
        results = []

        def call():
            with httpx.Client() as http:
                results.append(ask(gw, http).status_code)

        threads = [threading.Thread(target=call) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert results == [200] * 8
        assert upstream.most_open <= 2, f"{upstream.most_open} connections open at once (max_connections: 2)"


def test_an_upstream_certificate_nobody_trusts_is_refused_in_the_callers_format(tmp_path):
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-days", "1", "-subj", "/CN=127.0.0.1"], check=True, capture_output=True)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(cert), str(key))
    with serving(tmp_path, scheme="https", tls=context) as (upstream, gw):
        started = time.time()
        response = ask(gw)
        assert response.status_code == 502 and time.time() - started < 10
        error = response.json()["error"]
        assert error["type"] and "up" in error["message"]
        assert "certificate" in error["message"].lower() or "handshake" in error["message"].lower(), error["message"]
        wait_for(lambda: len(gw.rows()) == 1, what="the refused call's row")
        assert gw.rows()[0]["status"] == "failed"


def test_a_base_url_that_is_not_http_is_a_configuration_error(tmp_path):
    config = """
log_level: error
providers:
  up: {kind: openai_compatible, base_url: "ftp://127.0.0.1/v1"}
models:
  - {name: "*", provider: up}
"""
    (tmp_path / "strates.yaml").write_text(config)
    result = run_cli("config", "validate", str(tmp_path / "strates.yaml"), check=False)
    assert result.returncode != 0
    assert "providers.up.base_url" in result.stdout + result.stderr and "http://" in result.stdout + result.stderr



def test_a_timeout_names_the_limit_that_ran_out(tmp_path):
    # The upstream stays silent for 3 s before its head. The read timeout (1 s of silence)
    # runs out before the head's (20 s): the client gets a 504 in its format within about a
    # second, and the ledger's error names the limit that ran out, not the head's.
    with serving(tmp_path, delay=3.0, extra=", timeout_seconds: 20, read_timeout_seconds: 1") as (_, gw):
        started = time.monotonic()
        answer = ask(gw)
        waited = time.monotonic() - started
        assert answer.status_code == 504, answer.text
        assert answer.json()["error"]["code"] == "upstream_timeout"
        assert waited < 2.5, waited
        row = gw.wait_rows(1)[0]
    assert row["http_status"] == 504
    assert "nothing read for 1" in row["error"] and "20" not in row["error"], row["error"]
