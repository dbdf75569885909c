"""`strates demo` against a live gateway on the simulated provider: afterwards every
analytics report has something to show — all three workload classes, several teams in
the token flow, outcomes and zero-output runs, a flagged runaway run."""
import json
import sqlite3

import pytest

from conftest import Gateway, sim_control_config


@pytest.fixture(scope="module")
def gw(tmp_path_factory):
    gateway = Gateway(tmp_path_factory.mktemp("demo"), sim_control_config({"sim": 1}, ['{name: "*", provider: sim}']))
    yield gateway
    gateway.stop()


def test_the_demo_fills_every_report(gw):
    out = gw.cli("demo", "--url", gw.url).stdout
    assert "Done: 82 requests in 21 runs (0 refused), 10 outcomes recorded." in out
    workloads = json.loads(gw.cli("report", "workloads", "--since", "1d", "--format", "json").stdout)
    classes = {line["class"]: line for line in workloads["lines"] if line["workflow"] is None}
    assert set(classes) == {"prompt", "chain", "autonomous"} and classes["autonomous"]["runs"] == 4
    assert classes["autonomous"]["context_growth_per_step"] > 0 and classes["autonomous"]["loop_length"]["max"] >= 6
    flow = json.loads(gw.cli("report", "flow", "--by", "team", "--since", "1d", "--format", "json").stdout)
    assert {"platform", "data", "web"} <= {g["key"] for g in flow["groups"]}
    outcomes = json.loads(gw.cli("report", "outcomes", "--since", "1d", "--format", "json").stdout)
    assert outcomes["runs_with_outcome"] == 8 and outcomes["zero_output"]["runs"] == 13 and outcomes["tokens_per_merged_line"] > 0
    connection = sqlite3.connect(gw.db)
    try:
        assert connection.execute("SELECT reason FROM run_flags").fetchall() == [("repeated",)]
    finally:
        connection.close()
    # A second demo adds its own runs beside the first's.
    assert "Done: 82 requests" in gw.cli("demo", "--url", gw.url).stdout


def test_the_demo_says_when_strates_is_not_running(gw):
    failed = gw.cli("demo", "--url", "http://127.0.0.1:9", check=False)
    assert failed.returncode != 0 and "cannot reach Strates at http://127.0.0.1:9" in failed.stderr
