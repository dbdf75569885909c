import Foundation
import GRDB
import StratesCore
import StratesLedger

extension SQLiteLedger {
    public func rules<Rule: ControlRule>(_ type: Rule.Type) async throws -> [Rule] {
        let rows = try await writer.read { db in
            try String.fetchAll(db, sql: "SELECT definition FROM control_rules WHERE kind = ? ORDER BY name", arguments: [Rule.kind])
        }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .millisecondsSince1970
        // A definition this version cannot read (written by a newer one) is skipped, not fatal.
        return rows.compactMap { try? decoder.decode(Rule.self, from: Data($0.utf8)) }
    }

    public func save<Rule: ControlRule>(rule: Rule) async throws {
        try await save(rules: [rule])
    }

    public func save<Rule: ControlRule>(rules: [Rule]) async throws {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .millisecondsSince1970
        encoder.outputFormatting = .sortedKeys
        let definitions = try rules.map { String(decoding: try encoder.encode($0), as: UTF8.self) }
        try await writer.write { db in
            for (rule, definition) in zip(rules, definitions) {
                let taken = try String.fetchOne(
                    db, sql: "SELECT id FROM control_rules WHERE kind = ? AND name = ? AND id <> ?", arguments: [Rule.kind, rule.name, rule.id]
                )
                if taken != nil { throw NameTaken(noun: Rule.noun, name: rule.name) }
                try db.execute(
                    sql: """
                        INSERT INTO control_rules (id, kind, name, scope_kind, scope_value, definition, created_at, updated_at)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                        ON CONFLICT (id) DO UPDATE SET name = excluded.name, scope_kind = excluded.scope_kind,
                            scope_value = excluded.scope_value, definition = excluded.definition, updated_at = excluded.updated_at
                        """,
                    arguments: [
                        rule.id, Rule.kind, rule.name, rule.scope.kind.rawValue, rule.scope.value, definition,
                        Self.millis(rule.createdAt), Self.millis(rule.updatedAt),
                    ]
                )
            }
        }
    }

    public func grantUsage(grantID: String) async throws -> [Int64: ScopeSpend] {
        let sql = """
            SELECT started_at / 900000 AS quarter, COALESCE(SUM(cost_nano), 0) AS cost, COALESCE(SUM(\(Self.tokenSum)), 0) AS tokens
            FROM requests WHERE grant_id = ? GROUP BY quarter
            """
        return try await writer.read { db in
            var quarters: [Int64: ScopeSpend] = [:]
            for row in try Row.fetchAll(db, sql: sql, arguments: [grantID]) {
                quarters[row["quarter"]] = ScopeSpend(cost: row["cost"], tokens: row["tokens"])
            }
            return quarters
        }
    }

    public func deleteRule<Rule: ControlRule>(_ type: Rule.Type, _ idOrName: String) async throws -> Bool {
        try await writer.write { db in
            // An id wins over a name, as in every lookup (`named`).
            try db.execute(sql: "DELETE FROM control_rules WHERE kind = ? AND id = ?", arguments: [Rule.kind, idOrName])
            if db.changesCount > 0 { return true }
            try db.execute(sql: "DELETE FROM control_rules WHERE kind = ? AND name = ?", arguments: [Rule.kind, idOrName])
            return db.changesCount > 0
        }
    }
}
