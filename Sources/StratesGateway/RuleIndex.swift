import StratesCore
import Synchronization

/// The rules of one kind in force on a running gateway, indexed by scope so a request
/// finds those covering it with one lookup per attribution dimension.
public final class RuleIndex<Rule: ScopedRule>: Sendable {
    struct State {
        var byScope: [BudgetScope: [Rule]] = [:]
        var all: [Rule] = []
    }

    let state = Mutex(State())

    public init() {}

    public func replace(with rules: [Rule]) {
        var fresh = State(all: rules)
        for rule in rules { fresh.byScope[rule.scope, default: []].append(rule) }
        state.withLock { $0 = fresh }
    }

    public var all: [Rule] { state.withLock { $0.all } }

    /// The rules covering a request with this attribution.
    public func covering(_ attribution: Attribution) -> [Rule] {
        state.withLock { state in
            guard !state.byScope.isEmpty else { return [] }
            var found: [Rule] = []
            for kind in BudgetScope.Kind.allCases {
                guard let value = BudgetScope.value(of: kind, in: attribution) else { continue }
                found += state.byScope[BudgetScope(kind: kind, value: value)] ?? []
            }
            return found
        }
    }
}
