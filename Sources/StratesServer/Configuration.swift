import Foundation
import NIOCore
import StratesAnalytics
import StratesCore
import StratesGateway
import StratesLedger
import StratesProviders

/// Strates' configuration, after parsing and validation.
public struct StratesConfiguration: Sendable {
    public var host = "127.0.0.1"
    public var port = 7600
    public var maxBodyBytes = 32 << 20
    /// The most output tokens a request may ask for (`max_tokens` and its kin).
    public var maxOutputTokens = Bounds.defaultMaxOutputTokens
    public var shutdownGraceSeconds = 30
    /// How long a client may leave a connection idle, or take to send a request's head, and
    /// to send its body.
    public var timeouts = ConnectionTimeouts()
    /// The environment variable holding a bearer token `/metrics` asks for; open when unset.
    public var metricsTokenEnv: String?
    public var databasePath = "./strates.db"
    public var organization = "default"
    public var flushIntervalMs = 200
    public var logLevel = "info"
    public var providers: [ProviderConfiguration] = []
    public var models: [ModelRoute] = []
    /// Evaluated in order before a requested model's own route.
    public var routingRules: [RoutingRule] = []
    /// Contract discounts per provider, in basis points off list price.
    public var discounts: [String: Int64] = [:]
    public var customPrices: [ModelPrice] = []
    /// Output tokens a budget reserves for a request that sets no maximum.
    public var budgetDefaultOutputTokens: Int64 = 4_096
    /// When a run counts as running away, and whether it is stopped.
    public var runaway = RunawayPolicy()
    /// How runs are classified in the workload profile.
    public var workloads = WorkloadRules()
    /// When an hour's spend is a spike.
    public var anomalies = AnomalyRules()
    /// The environment variable holding the secret GitHub signs its webhook deliveries with.
    public var githubWebhookSecretEnv: String?
    /// Which teams' runs each repository's webhook deliveries may attach outcomes to.
    public var githubRepositories: RepositoryTeams?
    /// How often a running gateway reads budget definitions again (changes made with the CLI).
    public var budgetReloadSeconds = 2
    public var alertWebhooks: [AlertWebhook] = []
    /// Where the configuration came from, for the start-up message.
    public var source = "built-in defaults"

    public init() {}

    /// The journal that protects in-flight requests lives beside the database.
    public var journalDirectory: String { databasePath + ".journal" }
}

/// A URL budget alerts are posted to. Chat webhook URLs carry their credential in the path,
/// so the URL never shows in a description or dump.
public struct AlertWebhook: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public enum Format: String, Sendable, CaseIterable {
        /// Strates' own JSON payload.
        case json
        /// `{"text": …}`, which Slack (and Mattermost, Discord's Slack endpoint) incoming webhooks accept.
        case slack
    }

    public var url: String
    public var format: Format

    public init(url: String, format: Format = .json) {
        self.url = url
        self.format = format
    }

    public var description: String { "AlertWebhook(<redacted>, \(format.rawValue))" }
    public var debugDescription: String { description }
    public var customMirror: Mirror { Mirror(self, children: ["format": format]) }
}

/// One upstream as configured.
public struct ProviderConfiguration: Sendable {
    public var name: String
    public var kind: ProviderKind
    public var baseURL: String?
    public var apiKeyEnv: String?
    public var apiKeyFile: String?
    /// A key written in the config itself: refused unless `allowPlaintextKey`.
    public var apiKey: Secret?
    public var allowPlaintextKey = false
    public var authHeader: String?
    public var query: [(name: String, value: String)] = []
    /// Sent to the upstream on every call; values may be credentials (an organisation
    /// header, a gateway token), so they are held as secrets.
    public var headers: [(name: String, value: Secret)] = []
    public var timeoutSeconds = 600
    public var readTimeoutSeconds = 300
    public var connectTimeoutSeconds = 10
    /// Upstream connections kept per host; an HTTP/1.1 stream holds one for its whole length.
    public var maxConnections = 2048
    public var sim = SimSettings()
    public var simModels: [String: SimSettings] = [:]

    public init(name: String, kind: ProviderKind) {
        self.name = name
        self.kind = kind
    }

    public var defaultBaseURL: String? {
        switch kind {
        case .openAI: return "https://api.openai.com/v1"
        case .anthropic: return "https://api.anthropic.com/v1"
        case .openAICompatible, .sim: return nil
        }
    }

    public var defaultKeyEnv: String? {
        switch kind {
        case .openAI: return "OPENAI_API_KEY"
        case .anthropic: return "ANTHROPIC_API_KEY"
        case .openAICompatible, .sim: return nil
        }
    }

    /// Model patterns a provider of this kind serves when the config names no models.
    public var defaultModelPatterns: [String] {
        switch kind {
        case .openAI: return ["gpt-*", "o1*", "o3*", "o4*", "chatgpt-*", "codex-*", "text-embedding-*", "computer-use-*"]
        case .anthropic: return ["claude-*"]
        case .openAICompatible: return []
        case .sim: return ["sim", "*"]
        }
    }
}

/// A problem found in a configuration, with where it is.
public struct ConfigurationProblem: Sendable, CustomStringConvertible, Equatable {
    public var path: String
    public var line: Int?
    public var column: Int?
    public var message: String

    public var description: String {
        let location = line.map { "line \($0)\(column.map { ", column \($0)" } ?? "")" }
        return [location, path.isEmpty ? nil : path].compactMap { $0 }.joined(separator: ", ") + ": " + message
    }
}

public struct ConfigurationError: Error, CustomStringConvertible {
    public var problems: [ConfigurationProblem]
    public var description: String {
        "the configuration has \(problems.count) problem\(problems.count == 1 ? "" : "s"):\n" + problems.map { "  - \($0)" }.joined(separator: "\n")
    }
}

extension StratesConfiguration {
    /// The configuration used when no file is given: providers for whichever provider keys
    /// are in the environment, or the simulated provider when there are none.
    public static func defaults(environment: [String: String]) -> StratesConfiguration {
        var configuration = StratesConfiguration()
        if environment["OPENAI_API_KEY"]?.isEmpty == false {
            configuration.providers.append(ProviderConfiguration(name: "openai", kind: .openAI))
        }
        if environment["ANTHROPIC_API_KEY"]?.isEmpty == false {
            configuration.providers.append(ProviderConfiguration(name: "anthropic", kind: .anthropic))
        }
        if configuration.providers.isEmpty {
            configuration.providers.append(ProviderConfiguration(name: "sim", kind: .sim))
        }
        configuration.fillDefaultModels()
        return configuration
    }

    /// Without a `models:` section, each provider serves the model names of its kind.
    mutating func fillDefaultModels() {
        guard models.isEmpty else { return }
        for provider in providers {
            for pattern in provider.defaultModelPatterns {
                models.append(ModelRoute(pattern: pattern, provider: provider.name))
            }
        }
        // The wildcard of a simulated provider goes last, so real providers win.
        models.sort { ($0.pattern == "*" ? 1 : 0) < ($1.pattern == "*" ? 1 : 0) }
    }

    /// Applies `STRATES_*` environment overrides.
    public mutating func applyEnvironment(_ environment: [String: String]) throws(ConfigurationError) {
        var problems: [ConfigurationProblem] = []
        if let host = environment["STRATES_HOST"], !host.isEmpty { self.host = host }
        if let port = environment["STRATES_PORT"], !port.isEmpty {
            if let value = Int(port), (1...65535).contains(value) {
                self.port = value
            } else {
                problems.append(ConfigurationProblem(path: "STRATES_PORT", message: "'\(port)' is not a port number (1-65535)"))
            }
        }
        if let path = environment["STRATES_DATABASE"], !path.isEmpty { databasePath = path }
        if let level = environment["STRATES_LOG_LEVEL"], !level.isEmpty { logLevel = level }
        if !problems.isEmpty { throw ConfigurationError(problems: problems) }
    }
}
