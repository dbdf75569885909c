import Foundation
import GRDB
import StratesCore

extension SQLiteLedger {
    public func record(_ outcome: Outcome) async throws -> Bool {
        try await writer.write { db in
            try db.execute(
                sql: "INSERT INTO outcomes (id, at, run, kind, ref, quantity, value_nano, inferred, source) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                arguments: [outcome.id, Self.millis(outcome.at), outcome.run, outcome.kind.rawValue, outcome.ref, outcome.quantity, outcome.value?.value, outcome.inferred, outcome.source]
            )
            return db.changesCount > 0
        }
    }

    public func outcomes(run: String) async throws -> [Outcome] {
        try await writer.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM outcomes WHERE run = ? ORDER BY at", arguments: [run]).compactMap(Self.outcome)
        }
    }

    public func outcomes(from: Date, to: Date) async throws -> [Outcome] {
        try await writer.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM outcomes WHERE at >= ? AND at < ? ORDER BY at", arguments: [Self.millis(from), Self.millis(to)]).compactMap(Self.outcome)
        }
    }

    static func outcome(_ row: Row) -> Outcome? {
        guard let kind = Outcome.Kind(rawValue: row["kind"]) else { return nil }
        return Outcome(
            id: row["id"], at: date(row["at"]), run: row["run"], kind: kind, ref: row["ref"], quantity: row["quantity"],
            value: (row["value_nano"] as Int64?).map(NanoUSD.init), inferred: row["inferred"], source: row["source"]
        )
    }
}
