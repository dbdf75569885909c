import StratesCore

/// A first import's writer into an empty ledger: every record new, written in bulk, the
/// indexes built once at the end, all of it visible only when it finishes.
public protocol BulkImportWriter: Sendable {
    /// Writes records none of which the ledger holds or was given before.
    func write(_ records: [RequestRecord]) async throws
    /// Puts the rows in place, builds the indexes and commits.
    func finish() async throws
    /// Rolls everything back.
    func abort() async
}
