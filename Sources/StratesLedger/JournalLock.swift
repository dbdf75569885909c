import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// An exclusive lock on a journal directory, held for the life of the process (the kernel
/// releases it when the process dies, `kill -9` included). Only the holder may replay or
/// write the journal: a second gateway on the same ledger would otherwise record the
/// first one's in-flight requests as interrupted and delete its live segments.
public final class JournalLock: Sendable {
    let fd: Int32
    public let directory: String

    public init(directory: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let path = directory + "/lock"
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw LedgerError.journal("cannot open \(path): errno \(errno)") }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            close(fd)
            throw LedgerError(
                description:
                    "another Strates process is using this ledger (its journal \(directory) is locked). Stop it, or give this one its own ledger with --database."
            )
        }
        self.fd = fd
        self.directory = directory
    }

    deinit {
        flock(fd, LOCK_UN)
        close(fd)
    }
}
