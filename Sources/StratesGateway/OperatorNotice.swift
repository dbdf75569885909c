import Foundation
import StratesCore
import Synchronization

/// Something an operator should hear about that is not a budget alert: a route moving off a
/// deployment whose price rose above the route's ceiling (and back), or a run running away.
public enum OperatorNotice: Sendable, Equatable {
    case route(RouteEvent)
    case runaway(RunawayFlag, RunawayPolicy)
    case spike(SpendAnomaly)

    /// The route change, when that is what this is.
    public var event: RouteEvent? {
        if case .route(let event) = self { return event }
        return nil
    }
}

/// Where notices go (the log, webhooks, the ledger's route events); never on the request path.
public protocol NoticeSink: Sendable {
    func deliver(_ notice: OperatorNotice)
}

/// Which deployments are above their route's price ceiling, so that a move off one (and
/// back) is reported once, when it happens, not on every request.
final class CeilingWatch: Sendable {
    let above = Mutex(Set<String>())

    /// Records what the planner found for `route` and returns the changes: deployments that
    /// went above the ceiling, and those that came back under it.
    func update(route: ModelRoute, requested: String, aboveCeiling: [(deployment: RoutedDeployment, price: ModelPrice)], at date: Date) -> [RouteEvent] {
        let now = Set(aboveCeiling.map { "\(route.pattern)|\($0.deployment.name)" })
        let checked = Set(route.deployments.map { "\(route.pattern)|\($0.name(for: requested))" })
        return above.withLock { above in
            var events: [RouteEvent] = []
            for (deployment, price) in aboveCeiling where !above.contains("\(route.pattern)|\(deployment.name)") {
                events.append(
                    RouteEvent(
                        at: date, route: route.pattern, deployment: deployment.name, kind: .aboveCeiling,
                        detail:
                            "list price \(NanoUSD(price.input.nanoPerMillion)) input / \(NanoUSD(price.output.nanoPerMillion)) output per million tokens is above the route's ceiling of \(route.ceilingText); traffic moves to the next deployment"
                    ))
            }
            for key in above.intersection(checked).subtracting(now) {
                let deployment = String(key.split(separator: "|", maxSplits: 1).last ?? "")
                events.append(
                    RouteEvent(
                        at: date, route: route.pattern, deployment: deployment, kind: .withinCeiling,
                        detail: "back within the route's ceiling of \(route.ceilingText)"))
            }
            above.subtract(checked)
            above.formUnion(now)
            return events
        }
    }

    var current: Set<String> { above.withLock { $0 } }
}
