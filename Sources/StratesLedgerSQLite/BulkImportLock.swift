import Foundation

/// Says whether a bulk import is alive on a ledger: an exclusive `flock(2)` on a file beside
/// the database (`<ledger>-import`), held from the bulk import's first transaction to the
/// end of its second. The kernel lets go of it when the process dies, however it dies, so a
/// staging table found while nobody holds the lock was left by an interrupted import.
///
/// The file is left in place: removing it would let two processes lock two different files.
final class BulkImportLock: Sendable {
    private let descriptor: Int32

    /// Takes the lock if nobody holds it; nil if a bulk import holds it, or the file cannot
    /// be opened (a read-only directory: then no bulk import can run there either).
    init?(ledgerPath: String) {
        let descriptor = open(ledgerPath + "-import", O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { return nil }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            close(descriptor)
            return nil
        }
        self.descriptor = descriptor
    }

    deinit {
        flock(descriptor, LOCK_UN)
        close(descriptor)
    }
}
