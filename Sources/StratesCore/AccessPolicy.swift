import Foundation

/// Which models a scope may use: allow and deny lists of wildcard patterns, a ceiling on
/// the list price per million tokens, and a ceiling on how large a request's input may be.
/// A request must pass every policy covering it.
public struct AccessPolicy: ControlRule {
    public static let kind = "policy"
    public static let noun = "policy"
    public static let collection = "policies"
    public static let fields: Set<String> = [
        "name", "scope", "allow_models", "deny_models", "max_input_usd_per_mtok", "max_output_usd_per_mtok", "max_context_tokens",
    ]

    public var id: String
    public var name: String
    public var scope: BudgetScope
    /// Patterns (`*` any run, `?` one character) matched against the requested model, the
    /// model that serves it, and `provider/model`. Empty allows every model.
    public var allowModels: [String]
    /// Patterns that refuse a model even when an allow pattern matches.
    public var denyModels: [String]
    /// Nano-USD per million input tokens (list price), at most.
    public var maxInputPricePerMillion: Int64?
    /// Nano-USD per million output tokens (list price), at most.
    public var maxOutputPricePerMillion: Int64?
    /// The largest input a request may send, in (estimated) tokens.
    public var maxContextTokens: Int64?
    public var createdAt: Date
    public var updatedAt: Date

    public init(
        id: String, name: String, scope: BudgetScope, allowModels: [String] = [], denyModels: [String] = [],
        maxInputPricePerMillion: Int64? = nil, maxOutputPricePerMillion: Int64? = nil, maxContextTokens: Int64? = nil,
        createdAt: Date = Date(), updatedAt: Date = Date()
    ) {
        self.id = id
        self.name = name
        self.scope = scope
        self.allowModels = allowModels
        self.denyModels = denyModels
        self.maxInputPricePerMillion = maxInputPricePerMillion
        self.maxOutputPricePerMillion = maxOutputPricePerMillion
        self.maxContextTokens = maxContextTokens
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    public static func make(from fields: inout RuleFields, current: AccessPolicy?, id: String, now: Date) throws(RuleProblems) -> AccessPolicy {
        let scope = fields.scope(current: current?.scope)
        let name = fields.text("name").applied(to: current?.name) ?? scope.map { "\($0.kind.rawValue)-\($0.value)-models" } ?? ""
        let allow = fields.list("allow_models").applied(to: current?.allowModels) ?? []
        let deny = fields.list("deny_models").applied(to: current?.denyModels) ?? []
        let maxInput = fields.dollars("max_input_usd_per_mtok").applied(to: current?.maxInputPricePerMillion)
        let maxOutput = fields.dollars("max_output_usd_per_mtok").applied(to: current?.maxOutputPricePerMillion)
        let maxContext = fields.wholeNumber("max_context_tokens").applied(to: current?.maxContextTokens)
        if let problem = RuleName.problem(name) { fields.problem(problem) }
        if allow.isEmpty && deny.isEmpty && maxInput == nil && maxOutput == nil && maxContext == nil {
            fields.problem("set at least one of allow_models, deny_models, max_input_usd_per_mtok, max_output_usd_per_mtok, max_context_tokens")
        }
        try fields.check()
        guard let scope else { throw RuleProblems(["scope is required"]) }
        return AccessPolicy(
            id: id, name: name, scope: scope, allowModels: allow, denyModels: deny, maxInputPricePerMillion: maxInput,
            maxOutputPricePerMillion: maxOutput, maxContextTokens: maxContext, createdAt: current?.createdAt ?? now, updatedAt: now
        )
    }

    /// What the policy looks at in a request.
    public struct Request: Sendable {
        /// The model as asked for, the model that serves it, and `provider/model`.
        public var names: [String]
        public var description: String
        public var price: ModelPrice?
        public var inputTokens: Int64

        public init(requested: String, served: String, provider: String, price: ModelPrice?, inputTokens: Int64) {
            var names = [requested, served, "\(provider)/\(served)"]
            if requested != served { names.append("\(provider)/\(requested)") }
            self.names = names
            description = requested == served ? "'\(requested)'" : "'\(requested)' (served as '\(served)')"
            self.price = price
            self.inputTokens = inputTokens
        }
    }

    /// Why the policy refuses the request, in words that name the rule; nil when it passes.
    public func refusal(of request: Request) -> String? {
        let model = request.description
        if let pattern = denyModels.first(where: { pattern in request.names.contains { Glob.matches(pattern, $0) } }) {
            return "the model \(model) matches its deny list ('\(pattern)')"
        }
        if !allowModels.isEmpty, !allowModels.contains(where: { pattern in request.names.contains { Glob.matches(pattern, $0) } }) {
            return "the model \(model) is not in its allow list (\(allowModels.joined(separator: ", ")))"
        }
        if maxInputPricePerMillion != nil || maxOutputPricePerMillion != nil {
            guard let price = request.price else {
                return "it caps the price per million tokens, and the model \(model) has no known price (add one with 'strates prices')"
            }
            if let ceiling = maxInputPricePerMillion, price.input.nanoPerMillion > ceiling {
                return "the model \(model) costs \(NanoUSD(price.input.nanoPerMillion)) per million input tokens, above its ceiling of \(NanoUSD(ceiling))"
            }
            if let ceiling = maxOutputPricePerMillion, price.output.nanoPerMillion > ceiling {
                return "the model \(model) costs \(NanoUSD(price.output.nanoPerMillion)) per million output tokens, above its ceiling of \(NanoUSD(ceiling))"
            }
        }
        if let maxContextTokens, request.inputTokens > maxContextTokens {
            return "this request's input is about \(request.inputTokens) tokens, above its maximum context of \(maxContextTokens) tokens"
        }
        return nil
    }

    public var summary: String {
        var parts: [String] = []
        if !allowModels.isEmpty { parts.append("allow " + allowModels.joined(separator: ",")) }
        if !denyModels.isEmpty { parts.append("deny " + denyModels.joined(separator: ",")) }
        if let maxInputPricePerMillion { parts.append("input ≤ \(NanoUSD(maxInputPricePerMillion))/Mtok") }
        if let maxOutputPricePerMillion { parts.append("output ≤ \(NanoUSD(maxOutputPricePerMillion))/Mtok") }
        if let maxContextTokens { parts.append("context ≤ \(maxContextTokens) tokens") }
        return "\(scope.text): " + parts.joined(separator: "; ")
    }
}

/// Wildcard matching for model names: `*` any run of characters, `?` one character.
public enum Glob {
    public static func matches(_ pattern: String, _ text: String) -> Bool {
        let p = Array(pattern.utf8)
        let t = Array(text.utf8)
        var pi = 0
        var ti = 0
        var star = -1
        var mark = 0
        while ti < t.count {
            if pi < p.count, p[pi] == UInt8(ascii: "?") || p[pi] == t[ti] {
                pi += 1
                ti += 1
            } else if pi < p.count, p[pi] == UInt8(ascii: "*") {
                star = pi
                mark = ti
                pi += 1
            } else if star >= 0 {
                pi = star + 1
                mark += 1
                ti = mark
            } else {
                return false
            }
        }
        while pi < p.count, p[pi] == UInt8(ascii: "*") { pi += 1 }
        return pi == p.count
    }
}
