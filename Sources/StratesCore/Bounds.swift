import Foundation

/// The bounds on every number Strates reads from outside: a client's request, an admin's
/// body or flag, a config file, an upstream's usage, a webhook. A value past its bound is
/// refused at the edge with an error that names the field and the bound (an upstream's,
/// which cannot be refused, is metered as an estimate and marked so). Each bound is far
/// above any real value and far below Int64's ends, so that sums of many in-bound values
/// stay exact; `Saturating` keeps the arithmetic safe if one gets past anyway.
/// `docs/security.md` lists them.
public enum Bounds {
    /// The most output tokens a request may ask for (`max_tokens`, `max_completion_tokens`,
    /// `max_output_tokens`) unless `server.max_output_tokens` says otherwise.
    public static let defaultMaxOutputTokens: Int64 = 1_000_000
    /// The most tokens of one kind an upstream may report for one request; a report past
    /// it (or negative) is not believed.
    public static let usageTokensPerRequest: Int64 = 1_000_000_000
    /// The most tokens of one kind one imported record may carry (a provider's usage export
    /// sums a whole bucket).
    public static let importedTokensPerRecord: Int64 = 1_000_000_000_000
    /// The largest amount of money an admin may set (a budget's limit, a grant, a transfer,
    /// a reserve's ceiling): one billion dollars, in nano-USD.
    public static let money: Int64 = 1_000_000_000 * 1_000_000_000
    /// The largest token amount an admin may set (a budget's limit, a grant, a rate limit).
    public static let tokens: Int64 = 1_000_000_000_000_000
    /// The highest price rate, in nano-USD per million tokens ($1,000,000 per million).
    public static let rate: Int64 = 1_000_000 * 1_000_000_000
    /// Dates an admin may set (a grant's start or expiry, an outcome's time).
    public static let earliestDate = Date(timeIntervalSince1970: 946_684_800)  // 2000-01-01
    public static let latestDate = Date(timeIntervalSince1970: 4_102_444_800)  // 2100-01-01
    /// The longest model name a request may give, in bytes.
    public static let modelNameBytes = 256
    /// The most lines of code one pull request may count as.
    public static let linesPerPullRequest: Int64 = 100_000_000

    /// Whether `date` is one an admin may set.
    public static func allows(_ date: Date) -> Bool { date >= earliestDate && date < latestDate }

    /// What is wrong with `date` as a setting named `field`, if anything.
    public static func dateProblem(_ date: Date, field: String) -> String? {
        allows(date) ? nil : "\(field) must be between 2000-01-01 and 2100-01-01"
    }

    /// What is wrong with `amount` of money (nano-USD) as a setting named `field`, if anything.
    public static func moneyProblem(_ amount: Int64, field: String) -> String? {
        amount <= money ? nil : "\(field) must be at most $1,000,000,000"
    }

    /// What is wrong with a token amount as a setting named `field`, if anything.
    public static func tokensProblem(_ amount: Int64, field: String) -> String? {
        amount <= tokens ? nil : "\(field) must be at most 1,000,000,000,000,000 tokens"
    }
}
