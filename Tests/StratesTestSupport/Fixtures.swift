import Foundation
import StratesCore

/// A temporary folder, removed when the last holder lets go (tests leave nothing in /tmp).
public final class TemporaryFolder: Sendable {
    public let path: String

    public init(prefix: String) {
        path = NSTemporaryDirectory() + prefix + UUID().uuidString
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}

/// Dates in UTC unless a zone is given.
public func at(_ text: String) -> Date { GrantDates.parse(text, timeZone: .gmt)! }

/// One US dollar in nano-USD.
public let dollar: Int64 = 1_000_000_000

extension RunCall {
    /// Calls one after another from `start`, each a second long with `gap` seconds between,
    /// their context growing by `growth`: `turns` says which answer a tool (nil: unknown).
    public static func sequence(_ turns: [Bool?], start: Date, gap: Double = 2, context: Int64 = 1_000, growth: Int64 = 500) -> [RunCall] {
        turns.enumerated().map { index, tool in
            let started = start.addingTimeInterval(Double(index) * (gap + 1))
            return RunCall(
                started: started, ended: started.addingTimeInterval(1), context: context + Int64(index) * growth, output: 100, cacheRead: 800, cost: 1_000,
                toolTurn: tool)
        }
    }
}
