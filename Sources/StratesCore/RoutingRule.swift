import Foundation

/// What routing rules can look at in a request: who sent it (attribution) and what it asks.
public struct RequestFeatures: Sendable, Equatable {
    public var model: String
    public var attribution: Attribution
    public var inputTokens: Int64
    public var maxTokens: Int64?
    public var hasTools: Bool
    /// Computed only when a rule asks (it scans the body).
    public var hasImages: @Sendable () -> Bool
    /// `low`, `medium`, `high`, … (OpenAI's effort), `enabled` (Anthropic thinking), or nil.
    public var reasoning: String?

    public init(
        model: String, attribution: Attribution, inputTokens: Int64, maxTokens: Int64?, hasTools: Bool, reasoning: String?,
        hasImages: @escaping @Sendable () -> Bool
    ) {
        self.model = model
        self.attribution = attribution
        self.inputTokens = inputTokens
        self.maxTokens = maxTokens
        self.hasTools = hasTools
        self.reasoning = reasoning
        self.hasImages = hasImages
    }

    public static func == (lhs: RequestFeatures, rhs: RequestFeatures) -> Bool {
        lhs.model == rhs.model && lhs.attribution == rhs.attribution && lhs.inputTokens == rhs.inputTokens && lhs.maxTokens == rhs.maxTokens
            && lhs.hasTools == rhs.hasTools && lhs.reasoning == rhs.reasoning
    }
}

/// A routing rule: requests for `models` (a glob) that meet every condition go to `route`
/// (an alias or model name) instead. Rules are evaluated in order; the first match wins.
public struct RoutingRule: Sendable, Equatable {
    public enum Condition: Sendable, Equatable {
        /// An attribution field (team, member, key, service, workflow, process, environment, run) matching a glob.
        case attribute(String, pattern: String)
        case inputTokensOver(Int64)
        case inputTokensAtMost(Int64)
        case maxTokensOver(Int64)
        case tools(Bool)
        case images(Bool)
        /// A reasoning effort (`high`), `any` (some reasoning asked for) or `none`.
        case reasoning(String)
    }

    public static let attributes = ["team", "member", "key", "service", "workflow", "process", "environment", "run"]

    public var name: String
    public var models: String
    public var conditions: [Condition]
    public var route: String

    public init(name: String, models: String = "*", conditions: [Condition], route: String) {
        self.name = name
        self.models = models
        self.conditions = conditions
        self.route = route
    }

    public func matches(_ request: RequestFeatures) -> Bool {
        guard Glob.matches(models, request.model) else { return false }
        return conditions.allSatisfy { condition in
            switch condition {
            case .attribute(let field, let pattern):
                guard let value = Self.value(field, of: request.attribution) else { return false }
                return Glob.matches(pattern, value)
            case .inputTokensOver(let limit): return request.inputTokens > limit
            case .inputTokensAtMost(let limit): return request.inputTokens <= limit
            case .maxTokensOver(let limit): return (request.maxTokens ?? 0) > limit
            case .tools(let wanted): return request.hasTools == wanted
            case .images(let wanted): return request.hasImages() == wanted
            case .reasoning(let wanted):
                switch wanted {
                case "any": return request.reasoning != nil
                case "none": return request.reasoning == nil
                default: return request.reasoning == wanted
                }
            }
        }
    }

    static func value(_ field: String, of attribution: Attribution) -> String? {
        switch field {
        case "team": attribution.team
        case "member": attribution.member
        case "key": attribution.keyID
        case "service": attribution.service
        case "workflow": attribution.workflow
        case "process": attribution.process
        case "environment": attribution.environment.rawValue
        case "run": attribution.run
        default: nil
        }
    }

    /// The first rule that matches, in order.
    public static func first(_ rules: [RoutingRule], matching request: RequestFeatures) -> RoutingRule? {
        rules.first { $0.matches(request) }
    }

    /// How the rule reads: `process=planner, tools → smart`.
    public var summary: String {
        let parts = conditions.map { condition -> String in
            switch condition {
            case .attribute(let field, let pattern): "\(field)=\(pattern)"
            case .inputTokensOver(let n): "input_tokens>\(n)"
            case .inputTokensAtMost(let n): "input_tokens<=\(n)"
            case .maxTokensOver(let n): "max_tokens>\(n)"
            case .tools(let flag): flag ? "tools" : "no tools"
            case .images(let flag): flag ? "images" : "no images"
            case .reasoning(let effort): "reasoning=\(effort)"
            }
        }
        let scope = models == "*" ? "" : "model=\(models)" + (parts.isEmpty ? "" : ", ")
        return scope + (parts.isEmpty && scope.isEmpty ? "always" : parts.joined(separator: ", ")) + " → \(route)"
    }
}
