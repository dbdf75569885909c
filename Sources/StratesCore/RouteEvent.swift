import Foundation

/// A change in how a route serves its traffic, kept in the ledger for the routing report.
public struct RouteEvent: Sendable, Equatable {
    public enum Kind: String, Sendable {
        /// A price rise put the deployment above the route's ceiling: it is no longer used.
        case aboveCeiling = "above_price_ceiling"
        /// Its price is within the ceiling again.
        case withinCeiling = "within_price_ceiling"
    }

    public var at: Date
    public var route: String
    public var deployment: String
    public var kind: Kind
    public var detail: String

    public init(at: Date, route: String, deployment: String, kind: Kind, detail: String) {
        self.at = at
        self.route = route
        self.deployment = deployment
        self.kind = kind
        self.detail = detail
    }

    public var text: String { "Route '\(route)': \(deployment) \(detail)." }

}
