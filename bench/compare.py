#!/usr/bin/env python3
"""Compares two load runs of bench/run.py (--json), a change's before and after.

Each run is read against its own direct-upstream baseline, so the two need not have had
the same machine load: per prompt, shape and concurrency it prints Strates' CPU time per
request, its throughput as a share of the direct upstream's, and the latency it adds at
p50 and p99, before and after, with after : before for each.

    python3 bench/compare.py before.json after.json [--markdown]
"""
import argparse
import json
import sys


def index(path):
    rows = json.loads(open(path).read())["rows"]
    found = {}
    for row in rows:
        found[(row["prompt"], row["scenario"], row["concurrency"], row["target"])] = row
    return found


def measures(rows, prompt, scenario, concurrency):
    strates = rows.get((prompt, scenario, concurrency, "strates"))
    direct = rows.get((prompt, scenario, concurrency, "direct"))
    if not strates or not direct or not direct["requests_per_second"]:
        return None
    return {
        "cpu": strates.get("cpu_us_per_request"),
        "share": strates["requests_per_second"] / direct["requests_per_second"],
        "p50": strates["latency_ms"]["p50"] - direct["latency_ms"]["p50"],
        "p99": strates["latency_ms"]["p99"] - direct["latency_ms"]["p99"],
    }


def ratio(after, before):
    if after is None or before is None or before <= 0:
        return ""
    return f"{after / before:.2f}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before")
    parser.add_argument("after")
    parser.add_argument("--markdown", action="store_true", help="a Markdown table (for BENCHMARKS.md)")
    args = parser.parse_args()
    before, after = index(args.before), index(args.after)
    keys = sorted({key[:3] for key in before} & {key[:3] for key in after}, key=lambda k: (k[0] != "small", k[1], k[2]))
    header = ["prompt", "shape", "c", "CPU µs/req before", "after", "after : before", "req/s share of direct before", "after",
              "added p50 ms before", "after", "added p99 ms before", "after"]
    lines = []
    cpu_ratios = []
    for prompt, scenario, concurrency in keys:
        b, a = measures(before, prompt, scenario, concurrency), measures(after, prompt, scenario, concurrency)
        if not b or not a:
            continue
        if a["cpu"] and b["cpu"]:
            cpu_ratios.append(a["cpu"] / b["cpu"])
        lines.append([prompt, scenario, str(concurrency), f"{b['cpu']:.0f}", f"{a['cpu']:.0f}", ratio(a["cpu"], b["cpu"]),
                      f"{b['share']:.3f}", f"{a['share']:.3f}", f"{b['p50']:.3f}", f"{a['p50']:.3f}", f"{b['p99']:.3f}",
                      f"{a['p99']:.3f}"])
    if not lines:
        sys.exit("the two runs have no prompt, shape and concurrency in common")
    if args.markdown:
        print("| " + " | ".join(header) + " |")
        print("| " + " | ".join(["---"] * 3 + ["---:"] * (len(header) - 3)) + " |")
        for line in lines:
            print("| " + " | ".join(line) + " |")
    else:
        widths = [max(len(row[i]) for row in [header] + lines) for i in range(len(header))]
        for row in [header] + lines:
            print("  ".join(cell.rjust(widths[i]) for i, cell in enumerate(row)))
    cpu_ratios.sort()
    middle = cpu_ratios[len(cpu_ratios) // 2]
    print(f"\nCPU per request after : before, median over {len(cpu_ratios)} rows: {middle:.2f} "
          f"(from {cpu_ratios[0]:.2f} to {cpu_ratios[-1]:.2f})")


if __name__ == "__main__":
    main()
