import Foundation
import StratesCore
import StratesGateway
import StratesLedger

/// Builds the routing report from the ledger for the CLI and the API: actual usage priced
/// at the served model, and at the model it is compared with — for an auto-routed request
/// the baseline it recorded (its policy's baseline tier, as routed), else the requested
/// model when it has a price, else the first deployment of its route (an alias's primary).
public enum RoutingReporting {
    public static func make(
        database: any LedgerDatabase, pricing: Pricing, routes: [ModelRoute], since: Date, until: Date, team: String?
    ) async throws -> RoutingReport {
        let rows = try await database.routingUsage(from: since, to: until, team: team)
        let reasons = try await database.fallbackReasons(from: since, to: until, team: team)
        let events = try await database.routeEvents(from: since, to: until).filter { event in team == nil || rows.contains { $0.route == event.route } }
        var report = RoutingReport.make(since: since, until: until, rows: rows, reasons: reasons) { row, usage, baseline in
            let tier = row.serviceTier ?? .standard
            if !baseline {
                guard let provider = row.provider,
                    let (price, discount) = pricing.price(provider: provider, model: row.servedModel ?? row.requestedModel, at: row.day)
                else { return nil }
                return price.cost(of: usage, tier: tier, discountBasisPoints: discount, longContext: row.longContext)
            }
            var candidates: [(provider: String, model: String)] = []
            if let baseline = row.baseline, let slash = baseline.firstIndex(of: "/") {
                candidates.append((String(baseline[..<slash]), String(baseline[baseline.index(after: slash)...])))
            }
            if let provider = row.provider { candidates.append((provider, row.requestedModel)) }
            if let route = routes.first(where: { $0.pattern == row.route }), let first = route.deployments.first {
                candidates.append((first.provider, first.upstreamModel(for: row.requestedModel)))
            }
            for candidate in candidates {
                if let (price, discount) = pricing.price(provider: candidate.provider, model: candidate.model, at: row.day) {
                    return price.cost(of: usage, tier: tier, discountBasisPoints: discount, longContext: row.longContext)
                }
            }
            return nil
        }
        report.events = events
        return report
    }
}
