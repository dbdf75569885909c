import Foundation
import StratesCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The write-ahead journal that makes the ledger survive `kill -9`.
///
/// Each request writes a `begin` line before the upstream is called and an `end` line when
/// it is over, with a plain `write(2)` to an append-only file: once `write` returns, the
/// bytes belong to the kernel and outlive the process, without an fsync per request.
/// The ledger writer moves ended requests into the database in batches and then drops
/// journal segments that hold nothing it still needs. On start, whatever a crash left in
/// the journal is replayed: ended requests as they ended, begun ones as `interrupted`.
struct JournalEntry: Codable {
    enum Kind: String, Codable { case begin, end }
    var kind: Kind
    var record: RequestRecord
}

final class JournalSegments: Sendable {
    let directory: String

    init(directory: String) throws {
        self.directory = directory
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    func path(_ number: Int) -> String {
        directory + "/segment-" + String(number).leftPadded(to: 8) + ".jsonl"
    }

    /// Segment numbers on disk, oldest first.
    func existing() -> [Int] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.compactMap { name -> Int? in
            guard name.hasPrefix("segment-"), name.hasSuffix(".jsonl") else { return nil }
            return Int(name.dropFirst("segment-".count).dropLast(".jsonl".count))
        }.sorted()
    }

    func open(_ number: Int) throws -> Int32 {
        let fd = Glibc.open(path(number), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw LedgerError.journal("cannot open \(path(number)): errno \(errno)") }
        return fd
    }

    func remove(_ number: Int) {
        unlink(path(number))
    }

    /// Writes all of `bytes`, retrying short writes.
    static func writeAll(_ fd: Int32, _ bytes: [UInt8]) throws {
        var offset = 0
        try bytes.withUnsafeBytes { raw in
            while offset < raw.count {
                let written = Glibc.write(fd, raw.baseAddress! + offset, raw.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    throw LedgerError.journal("journal write failed: errno \(errno)")
                }
                offset += written
            }
        }
    }

    /// The entries of every segment, in order; a torn last line (a crash mid-write) is skipped.
    func readAll() -> [JournalEntry] {
        let decoder = JournalCoding.decoder()
        var entries: [JournalEntry] = []
        for number in existing() {
            guard let data = FileManager.default.contents(atPath: path(number)) else { continue }
            for line in data.split(separator: UInt8(ascii: "\n")) where !line.isEmpty {
                if let entry = try? decoder.decode(JournalEntry.self, from: Data(line)) { entries.append(entry) }
            }
        }
        return entries
    }
}

enum JournalCoding {
    static func decoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .millisecondsSince1970
        return decoder
    }
}

public struct LedgerError: Error, CustomStringConvertible, Sendable {
    public var description: String
    static func journal(_ text: String) -> LedgerError { LedgerError(description: text) }
}

extension String {
    func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
