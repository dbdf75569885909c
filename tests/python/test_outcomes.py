"""Outcomes end to end: recorded through the API (idempotent, team-scoped, every problem
named) and the CLI, imported from a real git repository by Strates-Run trailer and by
branch and time (against imported Claude Code sessions), then set against what the runs
cost in the outcome report, zero-output runs included."""
import csv
import io
import json
import os
import subprocess
from pathlib import Path

import openai
import pytest

from conftest import Gateway, api, api_csv, sim_control_config

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "claude-code"
SESSION = "5f1c2e9a-0000-4000-8000-000000000001"


@pytest.fixture(scope="module")
def gw(tmp_path_factory):
    gateway = Gateway(tmp_path_factory.mktemp("outcomes"), sim_control_config({"sim": 1}, ['{name: "*", provider: sim}']))
    yield gateway
    gateway.stop()


def work(gw, run, workflow, calls):
    client = openai.OpenAI(base_url=gw.url + "/v1", api_key=gw.key, max_retries=0, default_headers={"x-strates-run": run, "x-strates-workflow": workflow})
    for step in range(calls):
        client.chat.completions.create(model="gpt-4o-mini", max_tokens=50, messages=[{"role": "user", "content": f"Step {step} of {run}."}])


def git(repo, *args, date=None):
    env = dict(os.environ, GIT_AUTHOR_NAME="Ana", GIT_AUTHOR_EMAIL="ana@example.com", GIT_COMMITTER_NAME="Ana", GIT_COMMITTER_EMAIL="ana@example.com")
    if date:
        env.update(GIT_AUTHOR_DATE=date, GIT_COMMITTER_DATE=date)
    return subprocess.run(["git", "-C", str(repo), *args], env=env, check=True, capture_output=True, text=True).stdout


def test_outcomes_from_the_api_the_cli_and_git(gw, tmp_path):
    work(gw, "run-a", "fix-bug", 3)
    work(gw, "run-b", "fix-bug", 1)
    work(gw, "run-c", "docs", 2)
    gw.wait_rows(6, "run LIKE 'run-%'")

    status, made = api(gw, "POST", "/api/outcomes", {"run": "run-a", "kind": "merge", "ref": "#12", "quantity": 40})
    assert status == 201 and made["kind"] == "merge" and made["id"].startswith("out_")
    again = api(gw, "POST", "/api/outcomes", {"run": "run-a", "kind": "merge", "ref": "#12", "quantity": 40})
    assert again[0] == 200 and again[1]["id"] == made["id"]
    status, error = api(gw, "POST", "/api/outcomes", {"kind": "shipped", "quantity": -2})
    assert status == 400 and "'run' is required" in error["error"]["message"] and "'kind' must be one of" in error["error"]["message"]
    assert api(gw, "POST", "/api/outcomes", {"run": "no-such-run", "kind": "commit"})[0] == 404
    assert "Recorded deployment" in gw.cli("outcomes", "record", "--run", "run-a", "--kind", "deployment", "--ref", "prod-1").stdout

    # A repository whose commit names run-b by trailer, and one on the session's branch that names no run.
    gw.cli("import", "claude-code", str(FIXTURES), "--member", "alice", "--team", "platform")
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "feature/retry")
    (repo / "pay.py").write_text("def pay():\n    return retry(charge)\n")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "Retry payments\n\nStrates-Run: run-b")
    (repo / "retry.py").write_text("def retry(f):\n    return f()\n\n")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "Add the retry helper", date="2026-11-20T09:30:00Z")
    out = gw.cli("outcomes", "import-git", str(repo), "--since", "60d", "--branch", "feature/retry").stdout
    assert "Read 2 commit(s): 1 recorded from Strates-Run trailers, 1 matched by branch and time (inferred)" in out
    assert "0 recorded from Strates-Run trailers" in gw.cli("outcomes", "import-git", str(repo), "--since", "60d", "--branch", "feature/retry").stdout
    status, listed = api(gw, "GET", f"/api/outcomes?run={SESSION}")
    assert status == 200 and listed["data"][0]["inferred"] is True and listed["data"][0]["quantity"] == 3

    status, report = api(gw, "GET", "/api/reports/outcomes?since=30d&by=workflow")
    assert status == 200, report
    merge = next(k for k in report["kinds"] if k["kind"] == "merge" and k["workflow"] is None)
    assert merge["outcomes"] == 1 and float(merge["cost_per_outcome_usd"]) > 0
    assert report["tokens_per_merged_line"] > 0
    zero = {r["run"] for r in report["zero_output"]["costliest"]}
    assert "run-c" in zero and "run-a" not in zero and "run-b" not in zero
    assert report["runs_with_outcome"] == 3 and 0 < report["outcome_rate"] < 1

    table = gw.cli("report", "outcomes", "--since", "30d").stdout
    assert "Zero-output runs:" in table and "cost per outcome" in table
    assert api(gw, "GET", "/api/reports/outcomes?by=colour")[0] == 400

    # Efficiency: the same runs per workflow, the whole first; CSV from the CLI.
    status, efficiency = api(gw, "GET", "/api/reports/efficiency?since=30d&by=workflow")
    assert status == 200, efficiency
    whole, groups = efficiency["lines"][0], {line["workflow"]: line for line in efficiency["lines"][1:]}
    assert whole["workflow"] == "(all)" and whole["runs"] == report["runs"] and whole["runs_with_outcome"] == report["runs_with_outcome"]
    assert groups["docs"]["zero_output_runs"] == 1 and groups["docs"]["outcome_rate"] == 0 and groups["docs"]["cost_per_outcome_usd"] is None
    assert groups["fix-bug"]["merged_lines"] == 40 and groups["fix-bug"]["tokens_per_merged_line"] > 0
    assert groups["fix-bug"]["outcome_rate"] == 1.0 and float(groups["fix-bug"]["cost_per_outcome_usd"]) > 0
    rows = list(csv.reader(io.StringIO(gw.cli("report", "efficiency", "--since", "30d", "--by", "workflow", "--format", "csv").stdout)))
    assert rows[0][:4] == ["workflow", "runs", "runs_with_outcome", "outcome_rate"] and rows[1][0] == "(all)"
    assert {row[0] for row in rows[1:]} == {"(all)", *groups}
    assert api(gw, "GET", "/api/reports/efficiency?format=xml")[0] == 400
    status, kind, rows = api_csv(gw, "/api/reports/outcomes?since=30d&by=workflow&format=csv")
    assert status == 200 and rows[0][:2] == ["kind", "workflow"] and rows[-1][0] == "zero_output" and rows[-1][3] == str(report["zero_output"]["runs"])


def test_github_webhook_deliveries_become_outcomes(tmp_path):
    import hashlib
    import hmac

    import httpx

    config = sim_control_config({"sim": 1}, ['{name: "*", provider: sim}']) + (
        'outcomes: {github_webhook_secret_env: GH_HOOK_SECRET, github_repositories: {"acme/checkout-api": [platform], "acme/*": platform}}\n')
    gw = Gateway(tmp_path, config, env_extra={"GH_HOOK_SECRET": "hook-s3cret"})
    try:
        work(gw, "run-pr", "fix-bug", 2)
        gw.cli("import", "claude-code", str(FIXTURES), "--member", "alice", "--team", "platform")
        gw.wait_rows(2, "run = 'run-pr'")

        def deliver(event, payload, secret="hook-s3cret"):
            body = json.dumps(payload).encode()
            signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
            return httpx.post(gw.url + "/api/outcomes/github", content=body, timeout=30,
                              headers={"X-GitHub-Event": event, "X-Hub-Signature-256": signature, "content-type": "application/json"})

        merged = {"action": "closed", "repository": {"full_name": "acme/checkout-api"},
                  "pull_request": {"number": 12, "merged": True, "merged_at": "2026-11-23T11:00:00Z", "title": "Retry payments",
                                   "body": "Strates-Run: run-pr", "additions": 30, "deletions": 4, "head": {"ref": "fix/other"}}}
        response = deliver("pull_request", merged)
        assert response.status_code == 202, response.text
        assert response.json() == {"recorded": 1, "kind": "merge", "ref": "acme/checkout-api#12", "runs": ["run-pr"], "inferred": False}
        assert deliver("pull_request", merged).json()["recorded"] == 0, "GitHub redelivers: recorded once"
        outcomes = api(gw, "GET", "/api/outcomes?run=run-pr")[1]["data"]
        assert outcomes[0]["quantity"] == 34 and outcomes[0]["source"] == "github"

        # No Strates-Run line: the branch names the imported session that worked on it.
        opened = {"action": "opened", "repository": {"full_name": "acme/web"}, "pull_request": {"number": 13, "created_at": "2026-11-20T10:00:00Z", "title": "Add retries", "body": "",
                                                       "additions": 3, "deletions": 0, "head": {"ref": "feature/retry"}}}
        inferred = deliver("pull_request", opened).json()
        assert inferred["inferred"] is True and inferred["runs"] == [SESSION] and inferred["kind"] == "pull_request"

        # L3: a pull request's text is anyone's to write. Runs of a team the repository is not
        # mapped to take nothing, and a repository mapped to no team attaches nothing at all.
        red = gw.cli("keys", "create", "--member", "rex", "--team", "red", "--quiet").stdout.strip()
        red_client = openai.OpenAI(base_url=gw.url + "/v1", api_key=red, max_retries=0, default_headers={"x-strates-run": "red-run"})
        red_client.chat.completions.create(model="gpt-4o-mini", max_tokens=5, messages=[{"role": "user", "content": "red"}])
        gw.wait_rows(1, "run = 'red-run'")
        claim = {"action": "opened", "repository": {"full_name": "acme/checkout-api"},
                 "pull_request": {"number": 14, "title": "t", "body": "Strates-Run: red-run\nStrates-Run: run-pr", "additions": 1, "deletions": 1}}
        claimed = deliver("pull_request", claim).json()
        assert claimed["runs"] == ["run-pr"] and claimed["outside_mapped_teams"] == ["red-run"] and claimed["mapped_teams"] == ["platform"]
        assert api(gw, "GET", "/api/outcomes?run=red-run")[1]["data"] == []
        fork = dict(claim, repository={"full_name": "evil/fork"})
        assert "not mapped to a team" in deliver("pull_request", fork).json()["ignored"]
        assert "not mapped to a team" in deliver("pull_request", {k: v for k, v in claim.items() if k != "repository"}).json()["ignored"]

        # L2: line counts near Int64's end are clamped, not added up into a trap.
        huge = {"action": "opened", "repository": {"full_name": "acme/checkout-api"},
                "pull_request": {"number": 15, "body": "Strates-Run: run-pr", "additions": 2**63 - 1, "deletions": 2**63 - 1}}
        assert deliver("pull_request", huge).json()["recorded"] == 1
        quantities = {o["ref"]: o["quantity"] for o in api(gw, "GET", "/api/outcomes?run=run-pr")[1]["data"]}
        assert quantities["acme/checkout-api#15"] == 100_000_000

        assert deliver("pull_request", merged, secret="wrong").status_code == 401
        assert deliver("ping", {"zen": "Design for failure."}).json()["ignored"] == "ping"
        assert deliver("deployment_status", {"deployment_status": {"state": "failure"}, "deployment": {"id": 1}}).json()["recorded"] == 0
    finally:
        gw.stop()
