import Foundation

/// What kind of work a request is, for cost-aware routing: its task class and difficulty,
/// read from its features alone (no prompt text is inspected).
public struct TaskProfile: Sendable, Hashable {
    public enum Kind: String, Sendable, CaseIterable {
        /// Carries an image.
        case vision
        /// Offers tools: an agent's step.
        case agentic
        /// Asks for reasoning (an effort, or Anthropic thinking).
        case reasoning
        /// A large input (over 32k tokens): reading, summarising, reviewing.
        case longContext = "long_context"
        /// Everything else.
        case chat
    }

    public enum Difficulty: String, Sendable, CaseIterable, Comparable {
        case low, medium, high

        public static func < (lhs: Difficulty, rhs: Difficulty) -> Bool {
            allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
        }
    }

    public var kind: Kind
    public var difficulty: Difficulty

    public init(kind: Kind, difficulty: Difficulty) {
        self.kind = kind
        self.difficulty = difficulty
    }

    /// The class, checked in order: images, tools, reasoning, input size. Difficulty grows
    /// with the input, the output asked for and the reasoning effort.
    public static func classify(_ request: RequestFeatures) -> TaskProfile {
        let kind: Kind =
            if request.hasImages() { .vision } else if request.hasTools { .agentic } else if request.reasoning != nil {
                .reasoning
            } else if request.inputTokens > 32_000 { .longContext } else { .chat }
        let output = request.maxTokens ?? 0
        let difficulty: Difficulty
        if request.inputTokens > 64_000 || output > 8_000 || request.reasoning == "high" {
            difficulty = .high
        } else if request.inputTokens > 8_000 || output > 2_000 || request.hasTools || request.reasoning != nil {
            difficulty = .medium
        } else {
            difficulty = .low
        }
        return TaskProfile(kind: kind, difficulty: difficulty)
    }

    public var text: String { "\(kind.rawValue)/\(difficulty.rawValue)" }
}

/// How a tier has done on one task profile: the sum of feedback scores and how many there were.
public struct TierRecord: Sendable, Equatable {
    public var scoreSum: Double
    public var samples: Int

    public init(scoreSum: Double = 0, samples: Int = 0) {
        self.scoreSum = scoreSum
        self.samples = samples
    }

    public var successRate: Double { samples > 0 ? scoreSum / Double(samples) : 0 }
}

/// Every tier's record per task class (`chat/low`, …), as read from feedback in the ledger.
public struct TierBook: Sendable, Equatable {
    public var records: [String: [String: TierRecord]] = [:]

    public init() {}

    public mutating func add(tier: String, taskClass: String, record: TierRecord) {
        var existing = records[tier, default: [:]][taskClass] ?? TierRecord()
        existing.scoreSum += record.scoreSum
        existing.samples += record.samples
        records[tier, default: [:]][taskClass] = existing
    }

    /// Each tier's record on `profile`.
    public func records(on profile: TaskProfile, tiers: [String]) -> [String: TierRecord] {
        let key = profile.text
        return Dictionary(uniqueKeysWithValues: tiers.compactMap { tier in records[tier]?[key].map { (tier, $0) } })
    }
}

/// Cost-aware auto routing: tiers from cheapest to strongest; a request goes to the cheapest
/// tier whose observed success rate on its task profile meets the target (with enough
/// feedback to trust it), else to the strongest; a share of requests explores a cheaper tier
/// so that its record keeps growing.
public struct AutoRoutingPolicy: Sendable, Equatable, Codable {
    /// Route names (aliases or models), cheapest first.
    public var tiers: [String]
    public var targetSuccess: Double
    public var minimumSamples: Int
    public var exploration: Double
    /// What savings are measured against: the route a client would otherwise have asked for
    /// (default: the strongest tier).
    public var baseline: String?

    public init(tiers: [String], targetSuccess: Double = 0.9, minimumSamples: Int = 20, exploration: Double = 0.05, baseline: String? = nil) {
        self.tiers = tiers
        self.targetSuccess = targetSuccess
        self.minimumSamples = minimumSamples
        self.exploration = exploration
        self.baseline = baseline
    }

    public static let keys = ["tiers", "target_success", "min_samples", "exploration", "baseline"]

    /// The route savings are measured against.
    public var baselineTier: String? { baseline ?? tiers.last }

    /// What is wrong with the policy of the route `name`, as readers of a config or an API
    /// answer need it said.
    public func problems(route name: String) -> [String] {
        var problems: [String] = []
        if tiers.isEmpty { problems.append("'tiers' needs at least one route, cheapest first (e.g. [fast, smart])") }
        if Set(tiers).count != tiers.count { problems.append("'tiers' names a route twice") }
        if !(0...1).contains(targetSuccess) { problems.append("'target_success' must be from 0 to 1 (e.g. 0.9)") }
        if !(0...1).contains(exploration) { problems.append("'exploration' must be from 0 to 1 (e.g. 0.05)") }
        if minimumSamples < 1 { problems.append("'min_samples' must be at least 1") }
        return problems
    }

    public var text: String {
        "auto over \(tiers.joined(separator: " < ")) (target \(Self.percent(targetSuccess)) after \(minimumSamples) scored, exploring \(Self.percent(exploration)))"
    }

    /// The tier for a request of `profile`, and the reason, as the ledger records it.
    /// `records` holds each tier's record on this profile.
    public func choose(_ profile: TaskProfile, records: [String: TierRecord], random: inout some RandomNumberGenerator) -> (tier: String, reason: String)? {
        guard let strongest = tiers.last else { return nil }
        var chosen = strongest
        var reason = "no cheaper tier has shown \(Self.percent(targetSuccess)) success on \(profile.text) over \(minimumSamples)+ scored requests yet"
        for tier in tiers {
            let record = records[tier] ?? TierRecord()
            if tier == strongest {
                break
            }
            if record.samples >= minimumSamples && record.successRate >= targetSuccess {
                chosen = tier
                reason = "cheapest tier meeting \(Self.percent(targetSuccess)) on \(profile.text): \(Self.percent(record.successRate)) over \(record.samples)"
                break
            }
        }
        let cheaper = Array(tiers.prefix { $0 != chosen })
        if !cheaper.isEmpty, Double.random(in: 0..<1, using: &random) < exploration {
            let explored = cheaper.randomElement(using: &random)!
            let record = records[explored] ?? TierRecord()
            return (explored, "exploring \(explored) on \(profile.text) (\(record.samples) scored so far) instead of \(chosen)")
        }
        return (chosen, reason)
    }

    static func percent(_ value: Double) -> String { "\(Int((value * 100).rounded()))%" }
}
