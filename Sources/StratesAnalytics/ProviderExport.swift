import Foundation
import StratesCore
import StratesWire

/// A provider's own account of usage or cost for one UTC day and model, read from what its
/// admin API returns (saved pages of it):
///
/// - Anthropic `GET /v1/organizations/usage_report/messages` (`bucket_width=1d`,
///   `group_by[]=model`): `data[].starting_at` and `results[]` with
///   `uncached_input_tokens`, `cache_read_input_tokens`, `cache_creation.ephemeral_5m_input_tokens`
///   and `…_1h_…` (or the flat `cache_creation_5m_input_tokens`), `output_tokens`, `model`;
/// - Anthropic `GET /v1/organizations/cost_report` (`group_by[]=description`): `results[]`
///   with `amount` in cents as a decimal string, `currency`, `model`;
/// - OpenAI `GET /v1/organization/usage/completions` (`group_by=model`): `data[].start_time`
///   (Unix seconds) and `results[]` with `input_tokens` (cached included),
///   `input_cached_tokens`, `output_tokens`, `num_model_requests`, `model`;
/// - OpenAI `GET /v1/organization/costs` (`group_by=line_item`): `results[]` with
///   `amount.value` in dollars and `line_item` (`gpt-4o-2024-08-06, input`).
///
/// A file holds one page, a JSON array of pages, or one page per line.
public enum ProviderExport {
    public enum Kind: String, Sendable {
        case anthropicUsage = "anthropic usage report"
        case anthropicCost = "anthropic cost report"
        case openAIUsage = "openai completions usage"
        case openAICost = "openai costs"
    }

    public struct Problem: Error, CustomStringConvertible, Equatable {
        public var description: String
    }

    /// The rows of an export file, summed per day and model, and what kind of export it was.
    public static func read(_ bytes: [UInt8]) throws(Problem) -> (kind: Kind, rows: [ExportRow]) {
        var sums: [String: ExportRow] = [:]
        let kind = try forEachResult(bytes) { (bucket, result) throws(Problem) -> Kind in
            let (found, row) = try Self.row(result, day: Self.day(containing: bucket.start))
            let key = "\(Int(row.day.timeIntervalSince1970))|\(row.model)"
            sums[key] = sums[key].map { Self.add($0, row) } ?? row
            return found
        }
        return (kind, sums.values.sorted { ($0.day, $0.model) < ($1.day, $1.model) })
    }

    /// One time bucket of an export: when it starts and ends.
    public struct Bucket: Sendable, Equatable {
        public var start: Date
        public var end: Date?
    }

    /// Calls `body` with every result of every bucket of every page, in order. Gives back the
    /// kind of export `body` found; a file mixing kinds is refused.
    static func forEachResult(_ bytes: [UInt8], _ body: (Bucket, [String: Any]) throws(Problem) -> Kind) throws(Problem) -> Kind {
        let pages = try Self.pages(bytes)
        var kind: Kind?
        for (number, page) in pages.enumerated() {
            guard let buckets = page["data"] as? [[String: Any]] else {
                throw Problem(description: "page \(number + 1) has no 'data' list of time buckets")
            }
            for bucket in buckets {
                guard let start = Self.start(of: bucket) else {
                    throw Problem(description: "page \(number + 1): a bucket without a readable starting_at or start_time")
                }
                let span = Bucket(start: start, end: Self.end(of: bucket))
                for result in bucket["results"] as? [[String: Any]] ?? [] {
                    let found = try body(span, result)
                    if let kind, kind != found {
                        throw Problem(description: "the file mixes a \(kind.rawValue) with a \(found.rawValue); give them one at a time")
                    }
                    kind = found
                }
            }
        }
        guard let kind else { throw Problem(description: "the export holds no results (empty buckets only)") }
        return kind
    }

    /// The pages of an admin API response as saved: one page, a JSON list of pages, or a page per line.
    static func pages(_ bytes: [UInt8]) throws(Problem) -> [[String: Any]] {
        var pages: [[String: Any]] = []
        if let whole = try? JSONSerialization.jsonObject(with: Data(bytes)) {
            if let page = whole as? [String: Any] {
                pages = [page]
            } else if let list = whole as? [Any] {
                pages = list.compactMap { $0 as? [String: Any] }
            }
        } else {
            for (index, line) in bytes.split(separator: UInt8(ascii: "\n")).enumerated() where line.contains(where: { $0 > 0x20 }) {
                guard let page = (try? JSONSerialization.jsonObject(with: Data(line))) as? [String: Any] else {
                    throw Problem(
                        description:
                            "line \(index + 1) is not a JSON object (give the admin API's response as saved: one page, a list of pages, or a page per line)")
                }
                pages.append(page)
            }
        }
        guard !pages.isEmpty else { throw Problem(description: "no pages of an admin API response in the file") }
        return pages
    }

    static func start(of bucket: [String: Any]) -> Date? {
        if let text = bucket["starting_at"] as? String { return RFC3339.parse(text) }
        return (bucket["start_time"] as? NSNumber).map { Date(timeIntervalSince1970: $0.doubleValue) }
    }

    static func end(of bucket: [String: Any]) -> Date? {
        if let text = bucket["ending_at"] as? String { return RFC3339.parse(text) }
        return (bucket["end_time"] as? NSNumber).map { Date(timeIntervalSince1970: $0.doubleValue) }
    }

    /// Midnight UTC of the day holding `date`.
    public static func day(containing date: Date) -> Date {
        Date(timeIntervalSince1970: (date.timeIntervalSince1970 / 86_400).rounded(.down) * 86_400)
    }

    static func row(_ result: [String: Any], day: Date) throws(Problem) -> (Kind, ExportRow) {
        // A count is a whole number from 0 to 2^53; absent or null is 0. Anything else (text,
        // a fraction, a negative or overflowing number) is refused rather than trapped on.
        func int(_ value: Any?) throws(Problem) -> Int64 {
            guard let value, !(value is NSNull) else { return 0 }
            guard let number = value as? NSNumber, !(value is String) else {
                throw Problem(description: "a token or request count that is not a number: \(value)")
            }
            let double = number.doubleValue
            guard double.isFinite, double >= 0, double <= 9_007_199_254_740_992, double.rounded() == double else {
                throw Problem(description: "a token or request count that is not a whole number from 0 to 2^53: \(number)")
            }
            return Int64(double)
        }
        let object = result["object"] as? String
        if result["uncached_input_tokens"] != nil {
            let creation = result["cache_creation"] as? [String: Any]
            let usage = Usage(
                input: try int(result["uncached_input_tokens"]), output: try int(result["output_tokens"]),
                cacheRead: try int(result["cache_read_input_tokens"]),
                cacheWrite5m: try int(creation.map { $0["ephemeral_5m_input_tokens"] } ?? result["cache_creation_5m_input_tokens"]),
                cacheWrite1h: try int(creation.map { $0["ephemeral_1h_input_tokens"] } ?? result["cache_creation_1h_input_tokens"])
            )
            return (.anthropicUsage, ExportRow(day: day, model: result["model"] as? String ?? "", usage: usage))
        }
        if object == "organization.usage.completions.result" || result["input_cached_tokens"] != nil {
            let cached = try int(result["input_cached_tokens"])
            let usage = Usage(input: max(0, try int(result["input_tokens"]) - cached), output: try int(result["output_tokens"]), cacheRead: cached)
            return (.openAIUsage, ExportRow(day: day, model: result["model"] as? String ?? "", usage: usage, requests: try int(result["num_model_requests"])))
        }
        if object == "organization.costs.result", let amount = result["amount"] as? [String: Any] {
            let currency = (amount["currency"] as? String ?? "usd").lowercased()
            guard currency == "usd" else { throw Problem(description: "a cost in \(currency.uppercased()): only USD is reconciled") }
            guard let nano = DecimalText.signedScaled(amount["value"], decimals: 9) else {
                throw Problem(description: "a cost whose amount.value is not a number")
            }
            // `line_item` is `MODEL, input` / `MODEL, output` / …: the model is its first part.
            let item = result["line_item"] as? String ?? ""
            let model = item.split(separator: ",").first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
            return (.openAICost, ExportRow(day: day, model: model, cost: NanoUSD(nano)))
        }
        if let text = result["amount"] as? String {
            let currency = (result["currency"] as? String ?? "USD").uppercased()
            guard currency == "USD" else { throw Problem(description: "a cost in \(currency): only USD is reconciled") }
            // Anthropic gives cents as a decimal string: one cent is 10,000,000 nano-USD.
            guard let nano = DecimalText.signedScaled(text, decimals: 7) else {
                throw Problem(description: "a cost whose amount '\(text)' is not a decimal number")
            }
            return (.anthropicCost, ExportRow(day: day, model: result["model"] as? String ?? "", cost: NanoUSD(nano)))
        }
        throw Problem(description: "a result that is neither usage nor cost of a known export (fields: \(result.keys.sorted().joined(separator: ", ")))")
    }

    static func add(_ a: ExportRow, _ b: ExportRow) -> ExportRow {
        var sum = a
        if let usage = b.usage { sum.usage = (a.usage ?? Usage()) + usage }
        if let requests = b.requests { sum.requests = (a.requests ?? 0) + requests }
        if let cost = b.cost { sum.cost = (a.cost ?? .zero) + cost }
        return sum
    }
}
