import Foundation
import StratesCore

/// Commits read from `git log`, as outcomes of the runs that made them: a commit carrying a
/// `Strates-Run:` trailer names its run; one without can be matched to a run seen on the same
/// branch around that time (marked inferred).
public struct GitCommit: Sendable, Equatable {
    public var hash: String
    public var at: Date
    /// The `Strates-Run:` trailers' values.
    public var runs: [String]
    public var added: Int64
    public var removed: Int64

    public init(hash: String, at: Date, runs: [String], added: Int64, removed: Int64) {
        self.hash = hash
        self.at = at
        self.runs = runs
        self.added = added
        self.removed = removed
    }

    /// The `git log` format `read` expects, with `--numstat`.
    public static let logFormat = "%x1e%H%x1f%cI%x1f%(trailers:key=Strates-Run,valueonly,separator=%x2c)"

    /// Parses `git log --numstat --format=<logFormat>` output.
    public static func read(_ text: String) -> [GitCommit] {
        let formatter = ISO8601DateFormatter()
        return text.split(separator: "\u{1e}").compactMap { record in
            let lines = record.split(separator: "\n", omittingEmptySubsequences: true)
            guard let header = lines.first else { return nil }
            let fields = header.split(separator: "\u{1f}", omittingEmptySubsequences: false)
            guard fields.count >= 2, fields[0].count >= 7, let at = formatter.date(from: String(fields[1])) else { return nil }
            let runs = fields.count > 2 ? fields[2].split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty } : []
            var added: Int64 = 0
            var removed: Int64 = 0
            for line in lines.dropFirst() {
                let parts = line.split(separator: "\t")
                guard parts.count >= 3 else { continue }
                // Binary files show `-`: they add no lines.
                added += Int64(parts[0]) ?? 0
                removed += Int64(parts[1]) ?? 0
            }
            return GitCommit(hash: String(fields[0]), at: at, runs: runs, added: added, removed: removed)
        }
    }

    /// The run a commit without a trailer most likely came from: among runs seen on its branch,
    /// the one active last before the commit, within `window` seconds after its last call.
    public static func inferRun(for commit: GitCommit, among runs: [(run: String, firstAt: Date, lastAt: Date)], window: TimeInterval) -> String? {
        runs.filter { $0.firstAt <= commit.at && commit.at.timeIntervalSince($0.lastAt) <= window }
            .max { $0.lastAt < $1.lastAt }?.run
    }
}
