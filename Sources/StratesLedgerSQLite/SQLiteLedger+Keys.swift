import Foundation
import GRDB
import StratesCore
import StratesLedger

extension SQLiteLedger {
    public func insert(_ key: APIKey) async throws {
        try await writer.write { db in
            try db.execute(
                sql: """
                    INSERT INTO api_keys (id, hash, prefix, name, role, organization, team, member, service, environment,
                        workflow, created_at, expires_at, revoked_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    key.id, key.hash, key.prefix, key.name, key.role.rawValue, key.organization, key.team, key.member,
                    key.service, key.environment.rawValue, key.workflow, Self.millis(key.createdAt),
                    key.expiresAt.map(Self.millis), key.revokedAt.map(Self.millis),
                ]
            )
        }
    }

    public func key(hash: String) async throws -> APIKey? {
        try await writer.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM api_keys WHERE hash = ?", arguments: [hash]).map(Self.key)
        }
    }

    public func keys(includeRevoked: Bool) async throws -> [APIKey] {
        try await writer.read { db in
            let sql = "SELECT * FROM api_keys \(includeRevoked ? "" : "WHERE revoked_at IS NULL") ORDER BY created_at, id"
            return try Row.fetchAll(db, sql: sql).map(Self.key)
        }
    }

    public func revoke(_ idOrName: String, at date: Date) async throws -> Int {
        try await writer.write { db in
            // An id wins over a name: a key named like another key's id revokes only that one.
            let isID = try Bool.fetchOne(db, sql: "SELECT 1 FROM api_keys WHERE id = ?", arguments: [idOrName]) ?? false
            if isID {
                try db.execute(sql: "UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", arguments: [Self.millis(date), idOrName])
                return db.changesCount
            }
            try db.execute(sql: "UPDATE api_keys SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL", arguments: [Self.millis(date), idOrName])
            return db.changesCount
        }
    }

    public func keyCount() async throws -> Int {
        try await writer.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM api_keys") ?? 0 }
    }

    static func key(_ row: Row) -> APIKey {
        APIKey(
            id: row["id"], hash: row["hash"], prefix: row["prefix"], name: row["name"],
            role: KeyRole(rawValue: row["role"]) ?? .gateway, organization: row["organization"], team: row["team"],
            member: row["member"], service: row["service"],
            environment: Environment(rawValue: row["environment"]) ?? .production, workflow: row["workflow"],
            createdAt: date(row["created_at"]), expiresAt: (row["expires_at"] as Int64?).map(date),
            revokedAt: (row["revoked_at"] as Int64?).map(date)
        )
    }
}

// MARK: - Directory

extension SQLiteLedger {
    public func ensure(organization: String, team: String?, member: String?, service: String?) async throws {
        let now = Self.millis(Date())
        try await writer.write { db in
            try db.execute(sql: "INSERT INTO organizations (name, created_at) VALUES (?, ?) ON CONFLICT DO NOTHING", arguments: [organization, now])
            if let team {
                try db.execute(
                    sql: "INSERT INTO teams (organization, name, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING", arguments: [organization, team, now])
            }
            if let member {
                try db.execute(
                    sql: "INSERT INTO members (organization, name, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING", arguments: [organization, member, now])
            }
            if let team, let member {
                try db.execute(
                    sql: "INSERT INTO team_members (organization, team, member) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                    arguments: [organization, team, member])
            }
            if let service {
                try db.execute(
                    sql: "INSERT INTO services (organization, name, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                    arguments: [organization, service, now])
            }
        }
    }

    public func teams(organization: String) async throws -> [String] {
        try await writer.read { db in
            try String.fetchAll(db, sql: "SELECT name FROM teams WHERE organization = ? ORDER BY name", arguments: [organization])
        }
    }

    public func members(organization: String) async throws -> [(member: String, teams: [String])] {
        try await writer.read { db in
            let members = try String.fetchAll(db, sql: "SELECT name FROM members WHERE organization = ? ORDER BY name", arguments: [organization])
            return try members.map { member in
                let teams = try String.fetchAll(
                    db, sql: "SELECT team FROM team_members WHERE organization = ? AND member = ? ORDER BY team",
                    arguments: [organization, member]
                )
                return (member, teams)
            }
        }
    }
}

// MARK: - Prices

extension SQLiteLedger {
    public func insert(_ prices: [ModelPrice]) async throws {
        let encoder = JSONEncoder()
        let now = Self.millis(Date())
        let rows = try prices.map { ($0, String(decoding: try encoder.encode($0), as: UTF8.self)) }
        try await writer.write { db in
            for (price, json) in rows {
                try db.execute(
                    sql: """
                        INSERT INTO prices (provider, model, effective_from, source, price_json, imported_at)
                        VALUES (?, ?, ?, ?, ?, ?)
                        ON CONFLICT (provider, model, effective_from) DO UPDATE SET
                            source = excluded.source, price_json = excluded.price_json, imported_at = excluded.imported_at
                        """,
                    arguments: [price.provider, price.model, Self.millis(price.effectiveFrom), price.source, json, now]
                )
            }
        }
    }

    public func prices() async throws -> [ModelPrice] {
        let decoder = JSONDecoder()
        let texts = try await writer.read { db in
            try String.fetchAll(db, sql: "SELECT price_json FROM prices ORDER BY imported_at, provider, model")
        }
        return texts.compactMap { try? decoder.decode(ModelPrice.self, from: Data($0.utf8)) }
    }
}
