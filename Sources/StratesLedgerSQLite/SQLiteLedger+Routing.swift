import Foundation
import GRDB
import StratesCore
import StratesLedger

extension SQLiteLedger {
    public func routingUsage(from: Date, to: Date, team: String?) async throws -> [RoutingUsageRow] {
        let sql = """
            SELECT COALESCE(route, requested_model) AS route_key, requested_model, provider, served_model, service_tier, baseline_model,
                started_at / 86400000 AS day, status IN ('failed', 'cut') AS failed, failed_attempts IS NOT NULL AS fell_back,
                input_tokens + cache_read_tokens + cache_write_5m_tokens + cache_write_1h_tokens > \(RoutingUsageRow.longContextThreshold) AS long_context,
                COUNT(*) AS requests,
                SUM(input_tokens) AS input, SUM(output_tokens) AS output, SUM(cache_read_tokens) AS cache_read,
                SUM(cache_write_5m_tokens) AS cache_write_5m, SUM(cache_write_1h_tokens) AS cache_write_1h, SUM(reasoning_tokens) AS reasoning,
                COALESCE(SUM(cost_nano), 0) AS cost, SUM(CASE WHEN cost_nano IS NULL THEN 1 ELSE 0 END) AS unknown_cost
            FROM requests
            WHERE started_at >= ? AND started_at < ? AND status != 'rejected' AND (? IS NULL OR team = ?)
            GROUP BY route_key, requested_model, provider, served_model, service_tier, baseline_model, day, failed, fell_back, long_context
            """
        return try await writer.read { db in
            try Row.fetchAll(db, sql: sql, arguments: [Self.millis(from), Self.millis(to), team, team]).map { row in
                var line = RoutingUsageRow(
                    route: row["route_key"], requestedModel: row["requested_model"], provider: row["provider"], servedModel: row["served_model"],
                    serviceTier: ServiceTier(rawValue: row["service_tier"] ?? "standard").flatMap { $0 == .standard ? nil : $0 },
                    day: Date(timeIntervalSince1970: Double(row["day"] as Int64) * 86_400), failed: row["failed"], fellBack: row["fell_back"],
                    requests: row["requests"],
                    usage: Usage(
                        input: row["input"], output: row["output"], cacheRead: row["cache_read"], cacheWrite5m: row["cache_write_5m"],
                        cacheWrite1h: row["cache_write_1h"], reasoning: row["reasoning"]
                    ),
                    cost: row["cost"], unknownCost: row["unknown_cost"], baseline: row["baseline_model"]
                )
                line.longContext = row["long_context"]
                return line
            }
        }
    }

    public func fallbackReasons(from: Date, to: Date, team: String?) async throws -> [(route: String, attempts: String, count: Int64)] {
        let sql = """
            SELECT COALESCE(route, requested_model) AS route_key, failed_attempts, COUNT(*) AS n FROM requests
            WHERE started_at >= ? AND started_at < ? AND failed_attempts IS NOT NULL AND (? IS NULL OR team = ?)
            GROUP BY route_key, failed_attempts
            """
        return try await writer.read { db in
            try Row.fetchAll(db, sql: sql, arguments: [Self.millis(from), Self.millis(to), team, team]).map {
                ($0["route_key"], $0["failed_attempts"], $0["n"])
            }
        }
    }

    public func record(_ event: RouteEvent) async throws {
        try await writer.write { db in
            try db.execute(
                sql: "INSERT INTO route_events (at, route, deployment, kind, detail) VALUES (?, ?, ?, ?, ?)",
                arguments: [Self.millis(event.at), event.route, event.deployment, event.kind.rawValue, event.detail]
            )
        }
    }

    public func routeEvents(from: Date, to: Date) async throws -> [RouteEvent] {
        try await writer.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM route_events WHERE at >= ? AND at < ? ORDER BY at", arguments: [Self.millis(from), Self.millis(to)])
                .compactMap { row in
                    guard let kind = RouteEvent.Kind(rawValue: row["kind"]) else { return nil }
                    return RouteEvent(
                        at: Date(timeIntervalSince1970: Double(row["at"] as Int64) / 1000), route: row["route"], deployment: row["deployment"], kind: kind,
                        detail: row["detail"])
                }
        }
    }
}

extension SQLiteLedger {
    public func record(_ flag: RunawayFlag) async throws {
        try await writer.write { db in
            try db.execute(
                sql: "INSERT INTO run_flags (at, run, team, reason, calls, cost_nano, stopped) VALUES (?, ?, ?, ?, ?, ?, ?)",
                arguments: [Self.millis(flag.at), flag.run, flag.team, flag.reason.rawValue, flag.calls, flag.cost.value, flag.stopped]
            )
        }
    }

    public func runawayFlags(from: Date, to: Date) async throws -> [RunawayFlag] {
        try await writer.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM run_flags WHERE at >= ? AND at < ? ORDER BY at", arguments: [Self.millis(from), Self.millis(to)])
                .compactMap { row in
                    guard let reason = RunawayFlag.Reason(rawValue: row["reason"]) else { return nil }
                    return RunawayFlag(
                        at: Self.date(row["at"]), run: row["run"], team: row["team"], reason: reason, calls: row["calls"], cost: NanoUSD(row["cost_nano"]),
                        stopped: row["stopped"])
                }
        }
    }
}
