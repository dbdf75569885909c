import ArgumentParser
import Foundation
import StratesCore
import StratesGateway
import StratesLedger
import StratesServer

extension StratesCommand {
    struct Grants: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Give members allowances (tokens or dollars per period, or once) that their personal use draws from; show balances; transfer between members.",
            discussion: """
                'strates grants' alone shows every grant's balance, what is used and what lapses next.
                A member's requests in the personal environment draw from their grants; once a member has a grant,
                personal use that no grant can cover is refused. A running gateway applies changes within seconds.
                """,
            subcommands: [Status.self, SetGrant.self, ListRules<Grant>.self, ShowRule<Grant>.self, DeleteRule<Grant>.self, Transfer.self],
            defaultSubcommand: Status.self
        )

        struct SetGrant: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                commandName: "set",
                abstract: "Create a grant, or change the one with this name (only the options given change; 'none' clears one).",
                discussion: """
                    Examples:
                      strates grants set ana-rnd --member ana --usd 50 --period month --rollover capped --rollover-cap 25
                      strates grants set bo-atlas --member bo --tokens 20000000 --period once --purpose project --expires 2027-03-31
                      strates grants set cy-rnd --member cy --usd 30 --rollover full --time-zone Europe/Paris
                    """
            )

            @OptionGroup var data: DataOptions
            @Argument(help: "The grant's name (unique).") var name: String
            @Option(help: "The member who receives it.") var member: String?
            @Option(help: "Dollars per period (or once), e.g. 50 or 12.50.") var usd: String?
            @Option(help: "Tokens per period (or once): input, cache and output tokens together.") var tokens: String?
            @Option(help: "month (default), week, day, or once.") var period: String?
            @Option(help: "What the unused part does at the end of a period: none (default), capped, full.") var rollover: String?
            @Option(help: "For --rollover capped: the most that carries over, in the grant's unit.") var rolloverCap: String?
            @Option(help: "What it is for: benefit (default; reported for payroll), project, or any word.") var purpose: String?
            @Option(help: "First day (2026-12-01) or time (RFC 3339); default: the start of the current period.") var starts: String?
            @Option(help: "When it expires: a day (at midnight in --time-zone) or a time; 'none' for never.") var expires: String?
            @Option(help: "IANA zone in which periods start (default UTC).") var timeZone: String?

            func run() async throws {
                let fields: [String: Any?] = [
                    "scope": member.map { "member:\($0)" }, "amount_usd": usd, "amount_tokens": tokens, "period": period,
                    "rollover": rollover, "rollover_cap": RuleCommands.field(rolloverCap), "purpose": purpose,
                    "starts_at": starts, "expires_at": RuleCommands.field(expires), "time_zone": timeZone,
                ]
                try await RuleCommands.set(Grant.self, name: name, fields: fields.compactMapValues { $0 }, data: data)
            }
        }

        struct Status: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                commandName: "status", abstract: "Show each grant's balance, what is used this period, and what lapses next."
            )

            @OptionGroup var data: DataOptions
            @Option(help: "Only this member's grants.") var member: String?
            @Option(help: "table or json.") var format: String = "table"

            func run() async throws {
                let (_, ledger) = try data.openLedger()
                let grants = try await ledger.rules(Grant.self).filter { member == nil || $0.member == member }
                var statements: [GrantStatement] = []
                for grant in grants { statements.append(try await ledger.statement(of: grant, at: Date())) }
                if format == "json" {
                    print(APIJSON.lines(statements))
                    return
                }
                guard !statements.isEmpty else {
                    print(
                        member.map { "No grants for member '\($0)'." }
                            ?? "No grants. Give one with 'strates grants set NAME --member NAME --usd 50' (see --help).")
                    return
                }
                var rows = [["member", "grant", "purpose", "state", "available", "used", "balance", "expiring", "used total"]]
                for statement in statements {
                    let grant = statement.grant
                    let expiring = statement.expiring.map { "\(grant.format($0.amount)) on \(Self.day($0.at))" } ?? "-"
                    rows.append([
                        grant.member, grant.name, grant.purpose, statement.state.rawValue,
                        grant.format(statement.current?.available ?? 0), grant.format(statement.current?.used ?? 0),
                        grant.format(statement.balance), expiring, grant.format(statement.usedTotal),
                    ])
                }
                TextTable.print(rows)
            }

            static func day(_ date: Date) -> String { String(BudgetText.timestamp(date).prefix(10)) }
        }

        struct Transfer: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Give part of a grant's balance to another member.",
                discussion: """
                    The receiver gets a one-time grant of the same unit and purpose, which lapses when the money would
                    have lapsed for the giver (the end of the period, unless the grant rolls over in full).
                    Example:
                      strates grants transfer ana-rnd --to bo --amount 20 --note "pairing on the migration"
                    """
            )

            @OptionGroup var data: DataOptions
            @Argument(help: "The grant to give from (name or id).") var grant: String
            @Option(help: "The member who receives it.") var to: String
            @Option(help: "How much, in the grant's unit (dollars or tokens).") var amount: String
            @Option(help: "Why, kept with the transfer.") var note: String?

            func run() async throws {
                let (_, ledger) = try data.openLedger()
                guard let source = try await ledger.rules(Grant.self).named(grant) else {
                    throw RuleCommands.notFound(Grant.self, grant)
                }
                let value = source.unit == .usd ? DecimalText.scaled(amount, decimals: 9) : Int64(amount)
                guard let value else {
                    throw ValidationError("--amount must be \(source.unit == .usd ? "dollars, e.g. 20 or 7.50" : "a whole number of tokens")")
                }
                let statement = try await ledger.statement(of: source, at: Date())
                do {
                    let made = try GrantTransfer.make(from: statement, to: to, amount: value, note: note, id: "grant_" + KeySecrets.randomHex(8), now: Date())
                    try await ledger.save(rules: [made.source, made.received])
                    print(
                        "Transferred \(source.format(value)) from '\(source.name)' (\(source.member)) to \(to): grant '\(made.received.name)', \(made.received.expiresAt.map { "lapses \(BudgetText.timestamp($0))" } ?? "does not lapse")."
                    )
                } catch {
                    throw CommandFailure(description: "the transfer cannot be made: \(error)")
                }
            }
        }
    }
}
