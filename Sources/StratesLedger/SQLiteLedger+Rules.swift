import Foundation
import GRDB
import StratesCore

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
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .millisecondsSince1970
        encoder.outputFormatting = .sortedKeys
        let definition = String(decoding: try encoder.encode(rule), as: UTF8.self)
        try await writer.write { db in
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

    public func deleteRule<Rule: ControlRule>(_ type: Rule.Type, _ idOrName: String) async throws -> Bool {
        try await writer.write { db in
            try db.execute(sql: "DELETE FROM control_rules WHERE kind = ? AND (id = ? OR name = ?)", arguments: [Rule.kind, idOrName, idOrName])
            return db.changesCount > 0
        }
    }
}
