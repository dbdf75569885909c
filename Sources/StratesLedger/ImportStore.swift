import Foundation
import StratesCore

/// Where a run happened, as an import found it: the working directory and git branch, and
/// when the run started and last called a model. Output mapping matches runs to commits by it.
public struct RunContext: Sendable, Equatable {
    public var run: String
    public var source: String
    public var cwd: String?
    public var gitBranch: String?
    public var firstAt: Date
    public var lastAt: Date

    public init(run: String, source: String, cwd: String?, gitBranch: String?, firstAt: Date, lastAt: Date) {
        self.run = run
        self.source = source
        self.cwd = cwd
        self.gitBranch = gitBranch
        self.firstAt = firstAt
        self.lastAt = lastAt
    }
}

/// A session-log file as an import read it: unchanged while its size and modification time
/// are, so the next import can skip it.
public struct ImportedFile: Sendable, Equatable {
    public var path: String
    public var size: Int64
    public var modifiedNanos: Int64

    public init(path: String, size: Int64, modifiedNanos: Int64) {
        self.path = path
        self.size = size
        self.modifiedNanos = modifiedNanos
    }
}

/// What an import of records did: the positions, in the records given, of those added and
/// of those updated (the rest were already there with as much usage).
public struct ImportResult: Sendable, Equatable {
    public var added: [Int] = []
    public var updated: [Int] = []

    public init(added: [Int] = [], updated: [Int] = []) {
        self.added = added
        self.updated = updated
    }
}

/// Records imported from outside the gateway (agent transcripts, other proxies' logs).
public protocol ImportStore: Sendable {
    /// Adds records by id. One already present is updated when the new one has more usage
    /// (a transcript read again after its session went on); otherwise left alone.
    func importRecords(_ records: [RequestRecord]) async throws -> ImportResult
    func saveRunContexts(_ contexts: [RunContext]) async throws
    func runContext(_ run: String) async throws -> RunContext?
    /// Runs seen on `branch`, for matching commits that name no run.
    func runContexts(branch: String) async throws -> [RunContext]
    /// The UTC days (their midnights) in `from..<to` on which the ledger holds calls to
    /// `provider` that came from anywhere but `source`: the gateway's own, or another import.
    func days(withCallsTo provider: String, from: Date, to: Date, notFrom source: String) async throws -> Set<Date>
    /// The files of `source` (`claude-code`, `codex`) read by earlier imports, by path.
    func importedFiles(source: String) async throws -> [String: ImportedFile]
    /// Records `files` as read by an import of `source` that finished.
    func saveImportedFiles(_ files: [ImportedFile], source: String) async throws
    /// A first import's writer, when the ledger holds no request yet; nil when it holds some
    /// (or the store has no bulk path), and records go through `importRecords`.
    func beginBulkImport() async throws -> (any BulkImportWriter)?
}

extension ImportStore {
    /// Imports `records` `batch` to a transaction; how many were added and how many updated.
    public func importRecords(_ records: [RequestRecord], batch: Int) async throws -> (added: Int, updated: Int) {
        var counts = (added: 0, updated: 0)
        for start in stride(from: 0, to: records.count, by: batch) {
            let result = try await importRecords(Array(records[start..<min(start + batch, records.count)]))
            counts.added += result.added.count
            counts.updated += result.updated.count
        }
        return counts
    }
}
