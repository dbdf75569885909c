import Foundation
import GRDB
import StratesCore
import StratesLedger

extension SQLiteLedger {
    public func record(_ outcome: Outcome) async throws -> Bool {
        try await writer.write { db in
            try db.execute(
                sql:
                    "INSERT INTO outcomes (id, at, run, kind, ref, quantity, value_nano, inferred, source) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                arguments: [
                    outcome.id, Self.millis(outcome.at), outcome.run, outcome.kind.rawValue, outcome.ref, outcome.quantity, outcome.value?.value,
                    outcome.inferred, outcome.source,
                ]
            )
            return db.changesCount > 0
        }
    }

    public func outcomes(run: String) async throws -> [Outcome] {
        try await writer.read { db in
            try Row.fetchAll(db, sql: "SELECT \(Self.outcomeColumns) FROM outcomes WHERE run = ? ORDER BY at", arguments: [run]).compactMap(Self.outcome)
        }
    }

    /// Outcomes recorded in [from, to), read whole (the tests' reference for `outcomeTally`).
    func outcomes(from: Date, to: Date) async throws -> [Outcome] {
        try await writer.read { db in
            try Row.fetchAll(
                db, sql: "SELECT \(Self.outcomeColumns) FROM outcomes WHERE at >= ? AND at < ? ORDER BY at", arguments: [Self.millis(from), Self.millis(to)]
            )
            .compactMap(Self.outcome)
        }
    }

    static let outcomeColumns = "id, at, run, kind, ref, quantity, value_nano, inferred, source"

    /// An outcome from a row of `outcomeColumns`, read by position (named lookups fold case
    /// for every column of every row: most of a month's outcome read).
    static func outcome(_ row: Row) -> Outcome? {
        guard let kind = Outcome.Kind(rawValue: row[3]) else { return nil }
        return Outcome(
            id: row[0], at: date(row[1]), run: row[2], kind: kind, ref: row[4], quantity: row[5],
            value: (row[6] as Int64?).map(NanoUSD.init), inferred: row[7], source: row[8]
        )
    }
}
