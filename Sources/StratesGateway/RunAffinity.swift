import Foundation
import StratesCore
import Synchronization

/// Which deployment last served each run on each route, so that a run (a coding agent's
/// session) keeps hitting the deployment that holds its prompt cache. Entries expire after
/// `ttl` (an hour: the longest prompt-cache lifetime the providers sell); per process.
public final class RunAffinity: Sendable {
    struct Entry {
        var deployment: String
        var provider: String
        var at: Date
    }

    let ttl: TimeInterval
    let capacity: Int
    let table = Mutex([String: Entry]())

    public init(ttl: TimeInterval = 3_600, capacity: Int = 100_000) {
        self.ttl = ttl
        self.capacity = capacity
    }

    static func key(run: String, route: String) -> String { route + "\u{1F}" + run }

    /// The deployment (and its provider) that served `run` on `route` within the TTL.
    func held(run: String, route: String, now: Date) -> (deployment: String, provider: String)? {
        table.withLock { table in
            guard let entry = table[Self.key(run: run, route: route)], now.timeIntervalSince(entry.at) < ttl else { return nil }
            return (entry.deployment, entry.provider)
        }
    }

    func remember(run: String, route: String, deployment: String, provider: String, now: Date) {
        table.withLock { table in
            if table.count >= capacity {
                // Past capacity: drop what expired; if nothing did, the oldest half.
                table = table.filter { now.timeIntervalSince($0.value.at) < ttl }
                if table.count >= capacity {
                    let cutoff = table.values.map(\.at).sorted()[table.count / 2]
                    table = table.filter { $0.value.at > cutoff }
                }
            }
            table[Self.key(run: run, route: route)] = Entry(deployment: deployment, provider: provider, at: now)
        }
    }
}
