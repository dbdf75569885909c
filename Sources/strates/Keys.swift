import ArgumentParser
import Foundation
import StratesCore
import StratesGateway
import StratesLedger

extension StratesCommand {
    struct Keys: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create, list and revoke virtual API keys.", subcommands: [Create.self, List.self, Revoke.self])

        struct Create: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Create a key and print it once; only its hash is stored.")

            @OptionGroup var data: DataOptions
            @Option(help: "A name to recognise the key by.") var name: String?
            @Option(help: "The member the key belongs to.") var member: String?
            @Option(help: "The team its usage is charged to.") var team: String?
            @Option(help: "A service (instead of a member) the key belongs to.") var service: String?
            @Option(help: "production, sandbox or personal.") var environment: String = "production"
            @Option(help: "The default workflow of its requests.") var workflow: String?
            @Option(help: "Expiry: a duration such as 30d or a date such as 2027-01-01.") var expires: String?
            @Flag(help: "An admin key: may also use the /api/ endpoints.") var admin = false
            @Flag(help: "Print only the key (for scripts).") var quiet = false

            func run() async throws {
                let (configuration, ledger) = try data.openLedger(creating: true)
                guard let environment = Environment(rawValue: environment) else {
                    throw ValidationError("--environment must be production, sandbox or personal")
                }
                var expiresAt: Date?
                if let expires {
                    guard let date = Self.parseExpiry(expires) else { throw ValidationError("--expires must be like 30d or 2027-01-01") }
                    // A key born expired would be refused on its first call, with nothing said here.
                    guard date > Date() else { throw ValidationError("--expires \(expires) is already past: give a later date or a duration such as 30d") }
                    guard date < Bounds.latestDate else { throw ValidationError("--expires \(expires) is too far ahead: give a date before 2100") }
                    expiresAt = date
                }
                let (secret, key) = KeySecrets.makeKey(
                    name: name, role: admin ? .admin : .gateway, organization: configuration.organization, team: team,
                    member: member, service: service, environment: environment, workflow: workflow, expiresAt: expiresAt
                )
                try await ledger.ensure(organization: configuration.organization, team: team, member: member, service: service)
                try await ledger.insert(key)
                if quiet {
                    print(secret)
                } else {
                    print(
                        "Created \(admin ? "admin " : "")key \(key.id)\(name.map { " (\($0))" } ?? "") for \(member ?? service ?? "(no member)")\(team.map { " in team \($0)" } ?? ""), environment \(environment.rawValue)."
                    )
                    print("")
                    print("    \(secret)")
                    print("")
                    print("This is the only time the key is shown. Store it now.")
                }
            }

            static func parseExpiry(_ text: String) -> Date? {
                if let unit = text.last, unit == "d" || unit == "h", let amount = Int(text.dropLast()), amount > 0, amount <= 100_000 {
                    return Date().addingTimeInterval(Double(amount) * (unit == "d" ? 86_400 : 3_600))
                }
                let formatter = ISO8601DateFormatter()
                formatter.formatOptions = [.withFullDate]
                return formatter.date(from: text)
            }
        }

        struct List: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "List keys (never their secrets).")

            @OptionGroup var data: DataOptions
            @Flag(help: "Include revoked keys.") var all = false
            @Option(help: "table or json.") var format: String = "table"

            func run() async throws {
                let (_, ledger) = try data.openLedger()
                let keys = try await ledger.keys(includeRevoked: all)
                if format == "json" {
                    let encoder = JSONEncoder()
                    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
                    encoder.dateEncodingStrategy = .iso8601
                    let redacted = keys.map { key -> APIKey in
                        var copy = key
                        copy.hash = ""
                        return copy
                    }
                    print(String(decoding: try encoder.encode(redacted), as: UTF8.self))
                    return
                }
                let formatter = ISO8601DateFormatter()
                formatter.formatOptions = [.withFullDate]
                var rows = [["id", "name", "prefix", "role", "member", "team", "environment", "created", "expires", "status"]]
                let now = Date()
                for key in keys {
                    let status = key.revokedAt != nil ? "revoked" : key.isActive(at: now) ? "active" : "expired"
                    rows.append([
                        key.id, key.name ?? "", key.prefix + "…", key.role.rawValue, key.member ?? key.service ?? "", key.team ?? "",
                        key.environment.rawValue, formatter.string(from: key.createdAt), key.expiresAt.map(formatter.string) ?? "", status,
                    ])
                }
                TextTable.print(rows)
            }
        }

        struct Revoke: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Revoke a key by id or name. A running gateway refuses it within 5 seconds.")

            @OptionGroup var data: DataOptions
            @Argument(help: "The key's id (key_…) or name.") var key: String

            func run() async throws {
                let (_, ledger) = try data.openLedger()
                let count = try await ledger.revoke(key, at: Date())
                guard count > 0 else { throw CommandFailure(description: "no active key with id or name '\(key)'") }
                print("Revoked \(count) key\(count == 1 ? "" : "s").")
            }
        }
    }
}
