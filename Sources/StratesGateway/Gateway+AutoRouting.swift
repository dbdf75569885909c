import Foundation
import StratesCore
import StratesLedger
import Synchronization

/// What cost-aware routing knows of each tier's success, read from the ledger's feedback
/// off the request path.
final class AutoRoutingState: Sendable {
    struct Held {
        var book = TierBook()
        var mark: String?
        var readAt = Date.distantPast
    }

    let held = Mutex(Held())

    var book: TierBook { held.withLock { $0.book } }
}

/// Where an auto-routed request goes, and why.
public struct AutoChoice: Sendable {
    /// The tier's own route.
    public var route: ModelRoute
    public var tier: String
    public var reason: String
    /// `provider/model` its savings are measured against.
    public var baseline: String?
}

extension Gateway {
    /// Feedback older than this does not count: models and prompts change.
    static let feedbackWindow: TimeInterval = 30 * 86_400

    /// Reads the tiers' records again when feedback was added since the last read, or a
    /// minute has passed (new requests of runs scored earlier count too). Does nothing when
    /// no route is auto-routed.
    public func refreshTierRecords(from store: any FeedbackStore, now: Date = Date()) async throws {
        guard router.routes.contains(where: { $0.auto != nil }) else { return }
        let mark = try await store.feedbackMark()
        let stale = memory.autoRouting.held.withLock { $0.mark != mark || now.timeIntervalSince($0.readAt) > 60 }
        guard stale else { return }
        let book = try await store.tierRecords(since: now - Self.feedbackWindow)
        memory.autoRouting.held.withLock { $0 = AutoRoutingState.Held(book: book, mark: mark, readAt: now) }
    }

    /// The tiers' records as last read.
    public var tierRecords: TierBook { memory.autoRouting.book }
}

extension ModelRouter {
    /// The tier for a request of `profile` to the auto-routed `alias`: the cheapest whose
    /// observed success in `book` meets the policy's target, or an explored cheaper one.
    /// Tiers that no route serves right now are passed over; nil when none is left.
    public func chooseTier(
        _ policy: AutoRoutingPolicy, of alias: ModelRoute, profile: TaskProfile, book: TierBook, random: inout some RandomNumberGenerator
    ) -> AutoChoice? {
        func serving(_ tier: String) -> ModelRoute? {
            if tier == alias.pattern {
                var own = alias
                own.auto = nil
                return own.deployments.isEmpty ? nil : own
            }
            return route(for: tier, anyProvider: providers.isEmpty).flatMap { $0.auto == nil ? $0 : nil }
        }
        var live = policy
        live.tiers = policy.tiers.filter { serving($0) != nil }
        guard let choice = live.choose(profile, records: book.records(on: profile, tiers: live.tiers), random: &random),
            let route = serving(choice.tier)
        else { return nil }
        let baseline = policy.baselineTier.flatMap { tier in
            serving(tier).flatMap { route in route.deployments.first.map { $0.name(for: tier) } }
        }
        return AutoChoice(route: route, tier: choice.tier, reason: choice.reason, baseline: baseline)
    }
}
