"""Synthetic data for the analytics benchmark (bench/analytics.py).

Two generators, both deterministic for a given seed:

* `write_claude_code_history` writes a Claude Code projects folder laid out as Claude Code
  lays it out (`<project>/<session>.jsonl`, subagents under `<session>/subagents/`), with
  the lines a real transcript has around each billed response: the user turn or tool result
  before it, and for a share of responses an earlier streamed line of the same message with
  a partial output count (the importer must keep the final one).
* `fill_ledger` writes request rows straight into a ledger database that `strates` created
  (so its schema and migrations are Strates' own), as a gateway would have recorded them
  over a number of days: teams, members, workflows, runs with subagents, models.
"""

import json
import os
import random
import sqlite3
import time

MODELS = [("claude-sonnet-4-5-20250929", 3.0, 15.0), ("claude-haiku-4-5-20251001", 1.0, 5.0), ("claude-opus-4-1-20250805", 15.0, 75.0)]
TEXT = "Reading the failing test and the module it covers, then patching the parser. " * 4


def _assistant_line(session, cwd, branch, message_id, request_id, model, stamp, usage, sidechain, agent_id):
    line = {
        "parentUuid": None, "isSidechain": sidechain, "userType": "external", "cwd": cwd, "sessionId": session,
        "version": "2.0.74", "gitBranch": branch, "type": "assistant",
        "message": {"model": model, "id": message_id, "type": "message", "role": "assistant",
                    "content": [{"type": "text", "text": TEXT}], "stop_reason": None, "stop_sequence": None, "usage": usage},
        "requestId": request_id, "uuid": f"u-{message_id}-{usage['output_tokens']}", "timestamp": stamp,
    }
    if agent_id:
        line["agentId"] = agent_id
    return json.dumps(line, separators=(",", ":"))


def _user_line(session, cwd, branch, index, stamp):
    return json.dumps({
        "parentUuid": f"p{index}", "isSidechain": False, "userType": "external", "cwd": cwd, "sessionId": session,
        "version": "2.0.74", "gitBranch": branch, "type": "user",
        "message": {"role": "user", "content": [{"type": "tool_result", "tool_use_id": f"toolu_{index}", "content": TEXT * 2}]},
        "uuid": f"q{index}", "timestamp": stamp,
    }, separators=(",", ":"))


def _stamp(seconds):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{int(seconds * 1000) % 1000:03d}Z"


def write_claude_code_history(root, responses, per_session=200, projects=20, partial_share=0.5, seed=7, start=None):
    """Writes `responses` billed responses; returns (files, lines, bytes)."""
    rng = random.Random(seed)
    start = start or time.time() - 20 * 86_400
    files = lines = size = 0
    sessions = max(1, responses // per_session)
    for s in range(sessions):
        count = per_session if s < sessions - 1 else responses - per_session * (sessions - 1)
        project = f"-home-dev-src-service{s % projects}"
        cwd = f"/home/dev/src/service{s % projects}"
        branch = f"feature/{s % 50}"
        session = f"{s:08x}-0000-4000-8000-{s:012x}"
        folder = os.path.join(root, project)
        os.makedirs(folder, exist_ok=True)
        main, sub = [], []
        at = start + rng.random() * 18 * 86_400
        context = 4_000
        for i in range(count):
            in_subagent = i % 10 == 9
            model, _, _ = MODELS[0] if not in_subagent else MODELS[1]
            at += rng.uniform(2, 30)
            context += rng.randint(200, 2_000)
            output = rng.randint(50, 1_500)
            message_id = f"msg_{s:06d}_{i:04d}"
            request_id = f"req_{s:06d}_{i:04d}"
            usage = {"input_tokens": rng.randint(1, 20), "cache_creation_input_tokens": 500, "cache_read_input_tokens": context,
                     "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 500},
                     "output_tokens": output, "service_tier": "standard"}
            target = sub if in_subagent else main
            agent = f"a{s:x}" if in_subagent else None
            target.append(_user_line(session, cwd, branch, i, _stamp(at - 1)))
            if rng.random() < partial_share:
                partial = dict(usage, output_tokens=min(8, output))
                target.append(_assistant_line(session, cwd, branch, message_id, request_id, model, _stamp(at), partial, in_subagent, agent))
            target.append(_assistant_line(session, cwd, branch, message_id, request_id, model, _stamp(at + 0.2), usage, in_subagent, agent))
        for path, body in ((os.path.join(folder, f"{session}.jsonl"), main), (os.path.join(folder, session, "subagents", f"agent-a{s:x}.jsonl"), sub)):
            if not body:
                continue
            os.makedirs(os.path.dirname(path), exist_ok=True)
            text = "\n".join(body) + "\n"
            with open(path, "w") as handle:
                handle.write(text)
            files += 1
            lines += len(body)
            size += len(text)
    return files, lines, size


TEAMS = ["platform", "payments", "search", "mobile", "data", "infra", "growth", "security"]
WORKFLOWS = ["code-review", "refactor", "bugfix", "tests", "docs", "migration", "triage", "release"]
FILL_MODELS = [("claude-sonnet-4-5", "anthropic", 3_000, 15_000), ("gpt-4.1-mini", "openai", 400, 1_600), ("claude-haiku-4-5", "anthropic", 1_000, 5_000)]

COLUMNS = ("id", "started_at", "ended_at", "api", "stream", "status", "http_status", "key_id", "organization", "team", "member",
           "environment", "workflow", "run", "parent_run", "process", "requested_model", "served_model", "provider", "latency_ms",
           "input_tokens", "output_tokens", "cache_read_tokens", "cache_write_5m_tokens", "cache_write_1h_tokens", "reasoning_tokens",
           "usage_estimated", "cost_nano", "input_estimate", "service_tier", "turn")


def fill_ledger(path, requests, days=30, seed=11, now=None, progress=None):
    """Appends `requests` request rows spread over the last `days` days; returns the row count written."""
    rng = random.Random(seed)
    now = now or time.time()
    start_ms = int((now - days * 86_400) * 1000)
    span_ms = days * 86_400 * 1000 - 60_000
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=OFF")
    db.execute("PRAGMA cache_size=-400000")
    marks = ",".join("?" * len(COLUMNS))
    sql = f"INSERT INTO requests ({','.join(COLUMNS)}) VALUES ({marks})"
    written = 0
    run_number = 0
    batch = []
    outcomes = []
    outcome_sql = "INSERT INTO outcomes (id, at, run, kind, ref, quantity, value_nano, inferred, source) VALUES (?, ?, ?, ?, ?, ?, NULL, 0, 'bench')"
    while written < requests:
        run_number += 1
        calls = min(requests - written, rng.choice([1, 2, 3, 8, 20, 40, 80, 150]))
        team = TEAMS[run_number % len(TEAMS)]
        member = f"dev{run_number % 60:02d}"
        workflow = WORKFLOWS[(run_number // 3) % len(WORKFLOWS)]
        run = f"run-{run_number:08d}"
        at = start_ms + rng.randrange(span_ms - calls * 20_000) if span_ms > calls * 20_000 else start_ms
        context = 3_000
        for c in range(calls):
            model, provider, in_price, out_price = FILL_MODELS[0] if c % 7 else FILL_MODELS[rng.randrange(3)]
            child = c % 10 == 9
            context += rng.randint(100, 1_500)
            output = rng.randint(20, 1_200)
            cache_read = context * 4 // 5
            fresh = context - cache_read
            cost = (fresh * in_price + output * out_price + cache_read * in_price // 10)
            at += rng.randint(1_000, 20_000)
            batch.append((
                f"req_{written:010d}", at, at + 900, "messages", 1, "completed", 200, f"key{run_number % 60:02d}", "default", team, member,
                "production", workflow, f"{run}/sub" if child else run, run if child else None, "subagent" if child else None,
                model, model, provider, 900, fresh, output, cache_read, 0, 0, 0, 0, cost, context, "standard",
                "tool" if c > 0 and c % 5 else "human",
            ))
            written += 1
        if run_number % 3 == 0 and calls > 2:
            kind = ("commit", "pull_request", "merge")[run_number % 9 // 3]
            outcomes.append((f"out_{run_number:08d}", at + 60_000, run, kind, f"ref-{run_number}", rng.randint(5, 400) if kind != "pull_request" else None))
        if len(batch) >= 50_000:
            db.executemany(sql, batch)
            db.executemany(outcome_sql, outcomes)
            db.commit()
            batch, outcomes = [], []
            if progress:
                progress(written)
    if batch or outcomes:
        db.executemany(sql, batch)
        db.executemany(outcome_sql, outcomes)
        db.commit()
    db.close()
    return written


if __name__ == "__main__":
    # `python3 analytics_data.py fill DB REQUESTS`: the benchmark fills its ledger in a
    # process of its own, so the harness stays small and the peak RSS it reads for each
    # command (which on Linux starts from the parent's size) is the command's own.
    import sys

    if len(sys.argv) != 4 or sys.argv[1] != "fill":
        raise SystemExit("usage: analytics_data.py fill DATABASE REQUESTS")
    print(fill_ledger(sys.argv[2], int(sys.argv[3])))
