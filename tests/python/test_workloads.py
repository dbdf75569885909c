"""The workload profile from live traffic: a one-shot prompt, a chain of people's turns and
an agent's tool loop with a subagent, sent with the official OpenAI SDK; each run classified
from the turns the gateway recorded, per class and workflow, through the API and the CLI."""
import json

import openai
import pytest

from conftest import Gateway, api, api_csv, sim_control_config

CONFIG = sim_control_config({"sim": 1}, ['{name: "*", provider: sim}']) + "workloads: {autonomous_min_calls: 3, human_gap_seconds: 5}\n"
TOOLS = [{"type": "function", "function": {"name": "run_tests", "parameters": {"type": "object", "properties": {}}}}]


@pytest.fixture(scope="module")
def gw(tmp_path_factory):
    gateway = Gateway(tmp_path_factory.mktemp("workloads"), CONFIG)
    yield gateway
    gateway.stop()


def client(gw, run, workflow, parent=None):
    headers = {"x-strates-run": run, "x-strates-workflow": workflow, **({"x-strates-parent-run": parent} if parent else {})}
    return openai.OpenAI(base_url=gw.url + "/v1", api_key=gw.key, max_retries=0, default_headers=headers)


def test_runs_are_profiled_by_class_and_workflow(gw):
    client(gw, "p-1", "triage").chat.completions.create(model="gpt-4o-mini", max_tokens=50, messages=[{"role": "user", "content": "Label this issue."}])

    chain = client(gw, "c-1", "docs")
    history = []
    for question in ["Draft the intro.", "Shorter.", "Now the summary."]:
        history.append({"role": "user", "content": question})
        answer = chain.chat.completions.create(model="gpt-4o-mini", max_tokens=50, messages=history)
        history.append({"role": "assistant", "content": answer.choices[0].message.content})

    agent = client(gw, "a-1", "fix-bug")
    history = [{"role": "user", "content": "Make the tests pass."}]
    agent.chat.completions.create(model="gpt-4o-mini", max_tokens=50, tools=TOOLS, messages=history)
    for step in range(4):
        call = {"id": f"call_{step}", "type": "function", "function": {"name": "run_tests", "arguments": "{}"}}
        history += [{"role": "assistant", "content": None, "tool_calls": [call]}, {"role": "tool", "tool_call_id": f"call_{step}", "content": f"{3 - step} failing"}]
        agent.chat.completions.create(model="gpt-4o-mini", max_tokens=50, tools=TOOLS, messages=history)
    client(gw, "a-1/explore", "fix-bug", parent="a-1").chat.completions.create(
        model="gpt-4o-mini", max_tokens=50, messages=[{"role": "user", "content": "Find the test helper."}])
    rows = gw.wait_rows(10, "run IS NOT NULL")
    assert [r["turn"] for r in rows if r["run"] == "a-1"] == ["human", "tool", "tool", "tool", "tool"]

    status, report = api(gw, "GET", "/api/reports/workloads?since=1d")
    assert status == 200, report
    lines = {(line["class"], line["workflow"]): line for line in report["lines"]}
    assert set(lines) == {("prompt", None), ("prompt", "triage"), ("chain", None), ("chain", "docs"), ("autonomous", None), ("autonomous", "fix-bug")}
    loop = lines[("autonomous", "fix-bug")]
    # The subagent's call belongs to its session: 6 calls in one run.
    assert loop["runs"] == 1 and loop["calls_per_run"]["max"] == 6 and loop["loop_length"]["max"] == 4
    assert loop["context_growth_per_step"] > 0 and float(loop["cost_per_run"]["max_usd"]) > 0
    assert lines[("chain", "docs")]["calls_per_run"]["p50"] == 3
    assert report["rules"]["autonomous_min_calls"] == 3

    table = gw.cli("report", "workloads", "--since", "1d").stdout
    assert "autonomous" in table and "  fix-bug" in table and "  docs" in table
    assert json.loads(gw.cli("report", "workloads", "--since", "1d", "--format", "json").stdout)["lines"] == report["lines"]
    status, kind, rows = api_csv(gw, "/api/reports/workloads?since=1d&format=csv")
    assert status == 200 and kind.startswith("text/csv") and rows[0][:3] == ["class", "workflow", "runs"]
    by_line = {(row[0], row[1]): row for row in rows[1:]}
    assert by_line[("autonomous", "fix-bug")][5] == "6" and len(by_line) == len(report["lines"])
    assert gw.cli("report", "workloads", "--since", "1d", "--format", "csv").stdout.splitlines()[0].startswith("class,workflow,runs,calls_p50")
    assert api(gw, "GET", "/api/reports/workloads?format=xml")[0] == 400
