"""Turns a benchmark run into target checks, a console summary and BENCHMARKS.md tables."""
import json
import re

BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"

TARGETS = {
    "throughput_ratio": 100.0,        # Strates : LiteLLM requests per second, at least
    "cpu_ratio": 100.0,               # LiteLLM : Strates CPU per request, at least
    "added_p50_ms": 0.25,             # at concurrency 1, whole (non-streamed) answers, at most
    "added_p99_ms": 1.0,
    "added_ttft_p99_ms": 1.0,         # streams, at concurrency 1
    "open_streams_rss_mb": 150.0,     # 1,000 open streams, at most
}


def row_line(row):
    latency = row.get("latency_ms", {})
    ttft = row.get("first_token_ms", {})
    extra = ""
    if row.get("cpu_us_per_request") is not None:
        extra = f" cpu/req {row['cpu_us_per_request']:.0f} us, peak rss {row.get('peak_rss_mb', 0):.0f} MB"
    first = f" ttft p50 {ttft['p50']:.3f}" if ttft else ""
    return (f"{row['prompt']:5} {row['scenario']:26} c={row['concurrency']:<4} {row['target']:8} "
            f"{row['requests_per_second']:9.1f} req/s  p50 {latency.get('p50', 0):.3f} p99 {latency.get('p99', 0):.3f} ms"
            f"{first} errors {row['errors']}{extra}")


def _index(rows):
    return {(r["prompt"], r["scenario"], r["concurrency"], r["target"]): r for r in rows}


def comparisons(results):
    """Per shape and concurrency: throughput and CPU ratios, added latency over direct."""
    rows = _index(results["rows"])
    out = []
    for (prompt, scenario, concurrency, target), strates in rows.items():
        if target != "strates":
            continue
        direct = rows.get((prompt, scenario, concurrency, "direct"))
        litellm = rows.get((prompt, scenario, concurrency, "litellm"))
        item = {"prompt": prompt, "scenario": scenario, "concurrency": concurrency}
        if direct and strates["latency_ms"] and direct["latency_ms"]:
            for p in ("p50", "p99"):
                item[f"strates_added_{p}_ms"] = strates["latency_ms"][p] - direct["latency_ms"][p]
            if strates.get("first_token_ms") and direct.get("first_token_ms"):
                item["strates_added_ttft_p99_ms"] = strates["first_token_ms"]["p99"] - direct["first_token_ms"]["p99"]
        if litellm and litellm["latency_ms"] and direct and direct["latency_ms"]:
            item["litellm_added_p50_ms"] = litellm["latency_ms"]["p50"] - direct["latency_ms"]["p50"]
            if litellm.get("first_token_ms") and direct.get("first_token_ms"):
                item["litellm_added_ttft_p99_ms"] = litellm["first_token_ms"]["p99"] - direct["first_token_ms"]["p99"]
        if litellm and litellm["requests_per_second"] > 0:
            item["throughput_ratio"] = strates["requests_per_second"] / litellm["requests_per_second"]
            if direct:
                # What a proxy costing nothing would reach: the upstream and the load
                # generator share the cores, so the direct rate bounds every proxy's.
                item["throughput_ceiling"] = direct["requests_per_second"] / litellm["requests_per_second"]
        elif litellm:
            item["litellm_completed_none"] = True
        if litellm and litellm.get("cpu_us_per_request") and strates.get("cpu_us_per_request"):
            item["cpu_ratio"] = litellm["cpu_us_per_request"] / strates["cpu_us_per_request"]
        out.append(item)
    return out


def check_targets(results):
    """Each target with the figure measured and whether it was met."""
    items = comparisons(results)
    checks = []

    def add(name, measured, limit, at_least, where):
        if measured is None:
            return
        met = measured >= limit if at_least else measured <= limit
        checks.append({"target": name, "measured": round(measured, 3), "limit": limit,
                       "rule": "at least" if at_least else "at most", "where": where, "met": met})

    for key, at_least in (("throughput_ratio", True), ("cpu_ratio", True)):
        values = [(i[key], i) for i in items if key in i]
        if values:
            worst = min(values, key=lambda v: v[0])
            where = f"worst: {worst[1]['prompt']} {worst[1]['scenario']} c={worst[1]['concurrency']}"
            if key == "throughput_ratio" and "throughput_ceiling" in worst[1]:
                where += f" (direct : LiteLLM there {worst[1]['throughput_ceiling']:.1f})"
            add(key, worst[0], TARGETS[key], True, where)
    # Added latency is a whole answer's; a stream's is judged by its first token (the issue
    # sets that target for streams), since its whole length adds a relay step per event.
    for key, target in (("strates_added_p50_ms", "added_p50_ms"), ("strates_added_p99_ms", "added_p99_ms"),
                        ("strates_added_ttft_p99_ms", "added_ttft_p99_ms")):
        streamed = key == "strates_added_ttft_p99_ms"
        values = [(i[key], i) for i in items if key in i and i["concurrency"] == 1 and i["prompt"] == "small"
                  and i["scenario"].endswith("-stream") == streamed]
        if values:
            worst = max(values, key=lambda v: v[0])
            add(target, worst[0], TARGETS[target], False, f"worst at c=1, small prompt: {worst[1]['scenario']}")
    streams = results["phases"].get("open_streams")
    if streams:
        add("open_streams_rss_mb", streams["peak_rss_mb"], TARGETS["open_streams_rss_mb"], False,
            f"{streams['streams']} streams, {streams['errors']} errors")
    return checks


def problems(results):
    """What makes a run fail: anything lost or any error on the direct and Strates paths.
    Speed targets, and LiteLLM's errors, are reported, never failed on (the smoke test
    checks separately that every LiteLLM run completed requests)."""
    found = []
    for row in results["rows"]:
        if row["target"] in ("direct", "strates") and row["errors"]:
            found.append(f"{row['target']} {row['prompt']} {row['scenario']} c={row['concurrency']}: {row['error_kinds']}")
        if row["requests"] == 0 and row["target"] in ("direct", "strates"):
            found.append(f"{row['target']} {row['prompt']} {row['scenario']} c={row['concurrency']}: no request completed")
    ledger = results["phases"].get("ledger")
    if ledger and not ledger["complete"]:
        found.append(f"ledger incomplete: {json.dumps(ledger)}")
    streams = results["phases"].get("open_streams")
    if streams and (streams["errors"] or streams["ledger_completed"] != streams["streams"]):
        found.append(f"open streams: {json.dumps(streams)}")
    crash = results["phases"].get("crash")
    if crash and (crash["lost"] or crash["duplicated"] or crash["upstream_served"] == 0):
        found.append(f"crash: {json.dumps(crash)}")
    return found


def _ms(value):
    return "" if value is None else (f"{value:.3f}" if value < 10 else f"{value:.1f}")


def summary(results):
    lines = ["", "targets:"]
    for check in results["targets"]:
        lines.append(f"  {'met ' if check['met'] else 'MISS'} {check['target']}: {check['measured']} "
                     f"({check['rule']} {check['limit']}; {check['where']})")
    return "\n".join(lines)


def markdown(results):
    machine = results["machine"]
    settings = results["settings"]
    lines = [
        f"Run of {results['started']} ({results['seconds']} s in all): {machine['cores']} cores ({machine['cpu']}), "
        f"{machine['memory_gib']} GiB, Linux {machine['kernel']}; LiteLLM {machine['litellm']}. "
        f"{settings['duration']} s measured per run after {settings['warmup']} s of warm-up; the upstream, the proxies and "
        "the load generator share the cores.",
        "",
        "### Targets",
        "",
        "| target | rule | measured | where | |",
        "| --- | --- | ---: | --- | --- |",
    ]
    for check in results["targets"]:
        lines.append(f"| {check['target']} | {check['rule']} {check['limit']} | {check['measured']} | {check['where']} | "
                     f"{'met' if check['met'] else '**missed**'} |")
    lines += ["", "### Ratios", "",
              "| prompt | shape | c | Strates : LiteLLM req/s | CPU/req LiteLLM : Strates | added p50 Strates / LiteLLM (ms) | added p99 Strates (ms) | added TTFT p99 Strates / LiteLLM (ms) |",
              "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for item in comparisons(results):
        ratio = f"{item['throughput_ratio']:.1f}" if "throughput_ratio" in item else ""
        if item.get("litellm_completed_none"):
            ratio = "LiteLLM completed none in the window"
        cpu = f"{item['cpu_ratio']:.1f}" if "cpu_ratio" in item else ""
        ttft = ""
        if "strates_added_ttft_p99_ms" in item:
            ttft = f"{_ms(item['strates_added_ttft_p99_ms'])} / {_ms(item.get('litellm_added_ttft_p99_ms'))}"
        lines.append(f"| {item['prompt']} | {item['scenario']} | {item['concurrency']} | {ratio} | {cpu} | "
                     f"{_ms(item.get('strates_added_p50_ms'))} / {_ms(item.get('litellm_added_p50_ms'))} | "
                     f"{_ms(item.get('strates_added_p99_ms'))} | {ttft} |")
    lines += ["", "### Every run", "",
              "| prompt | shape | c | target | req/s | p50 | p90 | p99 | max | TTFT p50 | TTFT p99 | CPU µs/req | peak RSS MB | errors |",
              "| --- | --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for row in results["rows"]:
        latency, ttft = row.get("latency_ms", {}), row.get("first_token_ms", {})
        cpu, rss = row.get("cpu_us_per_request"), row.get("peak_rss_mb")
        cpu_text = "" if cpu is None else f"{cpu:,.0f}"
        rss_text = "" if rss is None else f"{rss:.0f}"
        lines.append(
            f"| {row['prompt']} | {row['scenario']} | {row['concurrency']} | {row['target']} | {row['requests_per_second']:,.0f} | "
            f"{_ms(latency.get('p50'))} | {_ms(latency.get('p90'))} | {_ms(latency.get('p99'))} | {_ms(latency.get('max'))} | "
            f"{_ms(ttft.get('p50'))} | {_ms(ttft.get('p99'))} | {cpu_text} | {rss_text} | {row['errors']} |")
    lines.append("")
    lines.append("Latencies in milliseconds. TTFT: from sending the request to the first text delta.")
    phases = results["phases"]
    lines += ["", "### Ledger, open streams, crash", ""]
    if "ledger" in phases:
        ledger = phases["ledger"]
        lines.append(f"- **Ledger check**: {ledger['requests_sent_through_strates']:,} requests sent through Strates, "
                     f"{ledger['ledger_rows']:,} ledger rows, {ledger['upstream_served']:,} served by the upstream for Strates, "
                     f"{ledger['missing_from_ledger']} missing, {ledger['token_mismatches']} with tokens different from the "
                     f"upstream's ({ledger['tokens_ledger']:,} tokens in the ledger, {ledger['tokens_upstream']:,} upstream).")
    if "open_streams" in phases:
        s = phases["open_streams"]
        lines.append(f"- **Open streams**: {s['streams']:,} concurrent streams of about {s['stream_seconds']} s each through a "
                     f"fresh Strates: {s['succeeded']:,} completed, {s['errors']} errors, RSS {s['idle_rss_mb']} MB idle, "
                     f"{s['peak_rss_mb']} MB at peak; {s['ledger_completed']:,} recorded as completed.")
    if "crash" in phases:
        c = phases["crash"]
        lines.append(f"- **Crash**: `kill -9` after {c['seconds_before_kill']} s of mixed load paced at {c['target_rate']:.0f} "
                     f"req/s; the upstream served {c['upstream_served']:,} requests for Strates, the ledger after restart holds "
                     f"{c['ledger_rows']:,} ({c['interrupted']} interrupted); lost {c['lost']}, duplicated {c['duplicated']}.")
    lines += ["", "<details><summary>The run's JSON</summary>", "", "```json",
              json.dumps({k: v for k, v in results.items() if k != "rows"}, indent=1, sort_keys=True), "```", "", "</details>"]
    return "\n".join(lines)


def write_benchmarks_md(path, results):
    text = path.read_text()
    block = f"{BEGIN}\n{markdown(results)}\n{END}"
    if BEGIN in text and END in text:
        text = re.sub(re.escape(BEGIN) + ".*?" + re.escape(END), lambda _: block, text, flags=re.S)
    else:
        text = text.rstrip() + "\n\n## Latest full run\n\n" + block + "\n"
    path.write_text(text)
