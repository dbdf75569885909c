import Foundation
import StratesAnalytics
import StratesCore

// The reports over runs (workloads, outcomes, efficiency, routing) as JSON and CSV. The
// reports are values built in StratesAnalytics; their members are listed here.

extension WorkloadReport.Spread {
    struct Counts: APIRepresentable {
        var spread: WorkloadReport.Spread

        func encodeFields(_ fields: inout APIFields) throws {
            try fields.put("p50", rounded(spread.p50, places: 1))
            try fields.put("p90", rounded(spread.p90, places: 1))
            try fields.put("max", rounded(spread.max, places: 1))
        }
    }

    struct Money: APIRepresentable {
        var spread: WorkloadReport.Spread

        func encodeFields(_ fields: inout APIFields) throws {
            try fields.put("p50_usd", dollars: NanoUSD(Int64(spread.p50)))
            try fields.put("p90_usd", dollars: NanoUSD(Int64(spread.p90)))
            try fields.put("max_usd", dollars: NanoUSD(Int64(spread.max)))
        }
    }
}

extension WorkloadReport.Line: APIRepresentable {
    public func encodeFields(_ fields: inout APIFields) throws {
        try fields.put("class", workload.rawValue)
        try fields.put("workflow", workflow)
        try fields.put("runs", runs)
        try fields.put("calls_per_run", object: WorkloadReport.Spread.Counts(spread: calls))
        try fields.put("tokens_per_run", object: WorkloadReport.Spread.Counts(spread: tokens))
        try fields.put("cost_per_run", object: WorkloadReport.Spread.Money(spread: cost))
        try fields.put("context_growth_per_step", rounded(contextGrowth, places: 1))
        try fields.put("cache_read_share", rounded(cacheReadShare, places: 4))
        try fields.put("output_input_ratio", rounded(outputInputRatio, places: 4))
        try fields.put("loop_length", object: WorkloadReport.Spread.Counts(spread: loopLength))
        try fields.put("duration_seconds", object: WorkloadReport.Spread.Counts(spread: seconds))
        try fields.put("spend_usd", dollars: NanoUSD(spend))
    }
}

extension WorkloadRules: APIRepresentable {
    public func encodeFields(_ fields: inout APIFields) throws {
        try fields.put("prompt_max_calls", promptMaxCalls)
        try fields.put("autonomous_tool_share", autonomousToolShare)
        try fields.put("autonomous_min_calls", autonomousMinCalls)
        try fields.put("human_gap_seconds", humanGapSeconds)
    }
}

extension WorkloadReport: APIRepresentable, CSVRepresentable {
    public func encodeFields(_ fields: inout APIFields) throws {
        try fields.put("since", time: since)
        try fields.put("until", time: until)
        try fields.put("rules", object: rules)
        try fields.put("calls_without_run", callsWithoutRun)
        try fields.put("lines", objects: lines)
    }

    public var csvHeader: [String] {
        [
            "class", "workflow", "runs", "calls_p50", "calls_p90", "calls_max", "tokens_p50", "tokens_p90", "tokens_max", "cost_p50_usd", "cost_p90_usd",
            "cost_max_usd", "context_growth_per_step", "cache_read_share", "output_input_ratio", "loop_p50", "loop_max", "duration_p50_s", "duration_p90_s",
            "spend_usd",
        ]
    }

    public var csvRows: [[String]] {
        func whole(_ value: Double) -> String { String(Int64(value.rounded())) }
        return lines.map { line in
            [
                line.workload.rawValue, line.workflow ?? "", String(line.runs), whole(line.calls.p50), whole(line.calls.p90), whole(line.calls.max),
                whole(line.tokens.p50), whole(line.tokens.p90), whole(line.tokens.max), NanoUSD(Int64(line.cost.p50)).dollars,
                NanoUSD(Int64(line.cost.p90)).dollars, NanoUSD(Int64(line.cost.max)).dollars, roundedText(line.contextGrowth, places: 1),
                roundedText(line.cacheReadShare, places: 4), roundedText(line.outputInputRatio, places: 4), whole(line.loopLength.p50),
                whole(line.loopLength.max), roundedText(line.seconds.p50, places: 1), roundedText(line.seconds.p90, places: 1), NanoUSD(line.spend).dollars,
            ]
        }
    }
}

extension OutcomeReport: APIRepresentable, CSVRepresentable {
    struct KindBody: APIRepresentable {
        var line: KindLine
        var by: String

        func encodeFields(_ fields: inout APIFields) throws {
            try fields.put("kind", line.kind.rawValue)
            try fields.put(by, line.group)
            try fields.put("outcomes", line.outcomes)
            try fields.put("runs", line.runs)
            try fields.put("quantity", line.quantity)
            try fields.put("value_usd", dollars: NanoUSD(line.value))
            try fields.put("spend_usd", dollars: NanoUSD(line.cost))
            try fields.put("cost_per_outcome_usd", dollars: NanoUSD(line.costPerOutcome))
            try fields.put("tokens", line.tokens)
        }
    }

    struct ZeroOutput: APIRepresentable {
        var report: OutcomeReport

        func encodeFields(_ fields: inout APIFields) throws {
            try fields.put("runs", report.zeroOutputRuns)
            try fields.put("spend_usd", dollars: NanoUSD(report.zeroOutputSpend))
            try fields.put("costliest", objects: report.zeroOutputTop.map { RunBody(line: $0, by: report.by) })
        }
    }

    struct RunBody: APIRepresentable {
        var line: RunLine
        var by: String

        func encodeFields(_ fields: inout APIFields) throws {
            try fields.put("run", line.run)
            try fields.put(by, line.group)
            try fields.put("tokens", line.tokens)
            try fields.put("spend_usd", dollars: NanoUSD(line.cost))
        }
    }

    public func encodeFields(_ fields: inout APIFields) throws {
        try fields.put("since", time: since)
        try fields.put("until", time: until)
        try fields.put("by", by)
        try fields.put("runs", runs)
        try fields.put("runs_with_outcome", runsWithOutcome)
        try fields.put("outcome_rate", rounded(outcomeRate, places: 4))
        try fields.put("spend_usd", dollars: NanoUSD(spend))
        try fields.put("tokens_per_merged_line", tokensPerMergedLine.map { rounded($0, places: 1) })
        try fields.put("kinds", objects: kinds.map { KindBody(line: $0, by: by) })
        try fields.put("zero_output", object: ZeroOutput(report: self))
    }

    public var csvHeader: [String] { ["kind", by, "outcomes", "runs", "quantity", "value_usd", "spend_usd", "cost_per_outcome_usd", "tokens"] }

    /// One row per kind and per kind and group (the group empty on the kind's own row), then
    /// a `zero_output` row with the runs that produced nothing and what they cost.
    public var csvRows: [[String]] {
        kinds.map { line in
            [
                line.kind.rawValue, line.group ?? "", String(line.outcomes), String(line.runs), String(line.quantity), NanoUSD(line.value).dollars,
                NanoUSD(line.cost).dollars, NanoUSD(line.costPerOutcome).dollars, String(line.tokens),
            ]
        } + [["zero_output", "", "0", String(zeroOutputRuns), "0", "0.000000", NanoUSD(zeroOutputSpend).dollars, "", ""]]
    }
}

extension EfficiencyReport: APIRepresentable, CSVRepresentable {
    struct LineBody: APIRepresentable {
        var line: Line
        var by: String

        func encodeFields(_ fields: inout APIFields) throws {
            try fields.put(by, line.group)
            try fields.put("runs", line.runs)
            try fields.put("runs_with_outcome", line.runsWithOutcome)
            try fields.put("outcome_rate", rounded(line.outcomeRate, places: 4))
            try fields.put("outcomes", line.outcomes)
            try fields.put("spend_usd", dollars: NanoUSD(line.spend))
            try fields.put("tokens", line.tokens)
            try fields.put("cost_per_outcome_usd", dollars: line.costPerOutcome.map(NanoUSD.init))
            try fields.put("merged_lines", line.mergedLines)
            try fields.put("tokens_per_merged_line", line.tokensPerMergedLine.map { rounded($0, places: 1) })
            try fields.put("zero_output_runs", line.zeroOutputRuns)
            try fields.put("zero_output_spend_usd", dollars: NanoUSD(line.zeroOutputSpend))
            try fields.put("zero_output_share", rounded(line.zeroOutputShare, places: 4))
        }
    }

    public func encodeFields(_ fields: inout APIFields) throws {
        try fields.put("since", time: since)
        try fields.put("until", time: until)
        try fields.put("by", by)
        try fields.put("lines", objects: lines.map { LineBody(line: $0, by: by) })
    }

    public var csvHeader: [String] {
        [
            by, "runs", "runs_with_outcome", "outcome_rate", "outcomes", "spend_usd", "tokens", "cost_per_outcome_usd", "merged_lines",
            "tokens_per_merged_line", "zero_output_runs", "zero_output_spend_usd",
        ]
    }

    public var csvRows: [[String]] {
        lines.map { line in
            [
                line.group, String(line.runs), String(line.runsWithOutcome), roundedText(line.outcomeRate, places: 4), String(line.outcomes),
                NanoUSD(line.spend).dollars, String(line.tokens), line.costPerOutcome.map { NanoUSD($0).dollars } ?? "", String(line.mergedLines),
                line.tokensPerMergedLine.map { roundedText($0, places: 1) } ?? "", String(line.zeroOutputRuns), NanoUSD(line.zeroOutputSpend).dollars,
            ]
        }
    }
}

extension RoutingLine: APIRepresentable {
    struct DeploymentBody: APIRepresentable {
        var deployment: RoutingLine.Deployment

        func encodeFields(_ fields: inout APIFields) throws {
            try fields.put("deployment", deployment.name)
            try fields.put("requests", deployment.requests)
            try fields.put("spend_usd", dollars: NanoUSD(deployment.cost))
        }
    }

    struct FallbackBody: APIRepresentable {
        var attempts: String
        var count: Int64

        func encodeFields(_ fields: inout APIFields) throws {
            try fields.put("failed_attempts", attempts)
            try fields.put("requests", count)
        }
    }

    public func encodeFields(_ fields: inout APIFields) throws {
        try fields.put("route", route)
        try fields.put("requests", requests)
        try fields.put("errors", errors)
        try fields.put("fell_back", fellBack)
        try fields.put("deployments", objects: deployments.map(DeploymentBody.init))
        try fields.put("fallbacks", objects: reasons.map { FallbackBody(attempts: $0.attempts, count: $0.count) })
        try fields.put("spend_usd", dollars: NanoUSD(spend))
        try fields.put("unknown_cost_requests", unknownCostRequests)
        try fields.put("cache_read_share", rounded(cacheReadShare, places: 4))
        try fields.put("caching_saved_usd", dollars: NanoUSD(cachingSaved))
        try fields.put("savings_vs_requested_usd", dollars: NanoUSD(savings))
    }
}

extension RoutingReport: APIRepresentable, CSVRepresentable {
    public func encodeFields(_ fields: inout APIFields) throws {
        try fields.put("since", time: since)
        try fields.put("until", time: until)
        try fields.put("routes", objects: lines)
        try fields.put("events", objects: events)
    }

    public var csvHeader: [String] {
        [
            "route", "deployment", "requests", "spend_usd", "route_requests", "errors", "fell_back", "cache_read_share", "caching_saved_usd",
            "savings_vs_requested_usd",
        ]
    }

    /// One row per route and deployment (the route's totals repeated on each).
    public var csvRows: [[String]] {
        lines.flatMap { line in
            line.deployments.map { deployment in
                [
                    line.route, deployment.name, String(deployment.requests), NanoUSD(deployment.cost).dollars, String(line.requests),
                    String(line.errors), String(line.fellBack), roundedText(line.cacheReadShare, places: 4), NanoUSD(line.cachingSaved).dollars,
                    NanoUSD(line.savings).dollars,
                ]
            }
        }
    }
}
