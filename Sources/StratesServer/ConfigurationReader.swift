import Foundation
import StratesAnalytics
import StratesCore
import StratesGateway
import StratesLedger
import StratesProviders
import Yams

/// Reads a YAML configuration, collecting every problem with its line and column instead
/// of stopping at the first. `strates config validate` and `strates serve` share it.
public struct ConfigurationReader {
    var problems: [ConfigurationProblem] = []

    public init() {}

    public static func read(file path: String) throws(ConfigurationError) -> StratesConfiguration {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigurationError(problems: [ConfigurationProblem(path: path, message: "cannot read the file")])
        }
        var configuration = try read(yaml: String(decoding: data, as: UTF8.self))
        configuration.source = path
        return configuration
    }

    public static func read(yaml: String) throws(ConfigurationError) -> StratesConfiguration {
        var reader = ConfigurationReader()
        let configuration = reader.parse(yaml)
        if !reader.problems.isEmpty { throw ConfigurationError(problems: reader.problems) }
        return configuration
    }

    mutating func problem(_ node: Node?, _ path: String, _ message: String) {
        problems.append(ConfigurationProblem(path: path, line: node?.mark?.line, column: node?.mark?.column, message: message))
    }

    mutating func parse(_ yaml: String) -> StratesConfiguration {
        var configuration = StratesConfiguration()
        let root: Node?
        do {
            root = try Yams.compose(yaml: yaml)
        } catch let error as YamlError {
            problems.append(ConfigurationProblem(path: "", message: "not valid YAML: \(error)"))
            return configuration
        } catch {
            problems.append(ConfigurationProblem(path: "", message: "not valid YAML: \(error)"))
            return configuration
        }
        guard let root else { return configuration }
        guard let mapping = root.mapping else {
            problem(root, "", "the configuration must be a mapping of sections (server, database, providers, models, prices)")
            return configuration
        }
        for (keyNode, value) in mapping {
            let key = keyNode.string ?? ""
            switch key {
            case "server": parseServer(value, into: &configuration)
            case "database":
                for (k, v) in entries(value, "database") {
                    switch k.string {
                    case "path": configuration.databasePath = string(v, "database.path") ?? configuration.databasePath
                    default: problem(k, "database.\(k.string ?? "")", "unknown setting (expected: path)")
                    }
                }
            case "ledger":
                for (k, v) in entries(value, "ledger") {
                    switch k.string {
                    case "flush_interval_ms": configuration.flushIntervalMs = int(v, "ledger.flush_interval_ms", 1...60_000) ?? configuration.flushIntervalMs
                    default: problem(k, "ledger.\(k.string ?? "")", "unknown setting (expected: flush_interval_ms)")
                    }
                }
            case "budgets":
                for (k, v) in entries(value, "budgets") {
                    let path = "budgets.\(k.string ?? "")"
                    switch k.string {
                    case "default_output_tokens": configuration.budgetDefaultOutputTokens = Int64(int(v, path, 1...10_000_000) ?? 4_096)
                    case "reload_seconds": configuration.budgetReloadSeconds = int(v, path, 1...3_600) ?? configuration.budgetReloadSeconds
                    default: problem(k, path, "unknown setting (expected: default_output_tokens, reload_seconds)")
                    }
                }
            case "alerts": parseAlerts(value, into: &configuration)
            case "outcomes":
                for (k, v) in entries(value, "outcomes") {
                    let path = "outcomes.\(k.string ?? "")"
                    switch k.string {
                    case "github_webhook_secret_env": configuration.githubWebhookSecretEnv = string(v, path)
                    case "github_repositories": configuration.githubRepositories = repositoryTeams(v, path)
                    default: problem(k, path, "unknown setting (expected: github_webhook_secret_env, github_repositories)")
                    }
                }
                if configuration.githubWebhookSecretEnv != nil, configuration.githubRepositories == nil {
                    problem(
                        value, "outcomes.github_repositories",
                        "needed with github_webhook_secret_env: map each repository to the teams whose runs its pull requests may name, e.g. {\"acme/checkout-api\": [payments]} (\"*\": [\"*\"] trusts every repository for every team)"
                    )
                }
            case "anomalies":
                for (k, v) in entries(value, "anomalies") {
                    let path = "anomalies.\(k.string ?? "")"
                    switch k.string {
                    case "factor":
                        if let text = v.scalar?.string, let factor = Double(text), factor > 1 {
                            configuration.anomalies.factor = factor
                        } else {
                            problem(v, path, "expected a number above 1 (e.g. 3)")
                        }
                    case "min_usd_per_hour": if let amount = dollars(v, path) { configuration.anomalies.minimumPerHour = amount }
                    case "baseline_days": configuration.anomalies.baselineDays = int(v, path, 1...90) ?? configuration.anomalies.baselineDays
                    default: problem(k, path, "unknown setting (expected: \(AnomalyRules.keys.joined(separator: ", ")))")
                    }
                }
            case "workloads":
                for (k, v) in entries(value, "workloads") {
                    let path = "workloads.\(k.string ?? "")"
                    switch k.string {
                    case "prompt_max_calls": configuration.workloads.promptMaxCalls = int(v, path, 1...1_000) ?? configuration.workloads.promptMaxCalls
                    case "autonomous_min_calls":
                        configuration.workloads.autonomousMinCalls = int(v, path, 2...100_000) ?? configuration.workloads.autonomousMinCalls
                    case "autonomous_tool_share": configuration.workloads.autonomousToolShare = fraction(v, path) ?? configuration.workloads.autonomousToolShare
                    case "human_gap_seconds": configuration.workloads.humanGapSeconds = seconds(v, path) ?? configuration.workloads.humanGapSeconds
                    default: problem(k, path, "unknown setting (expected: \(WorkloadRules.keys.joined(separator: ", ")))")
                    }
                }
            case "runaway":
                for (k, v) in entries(value, "runaway") {
                    let path = "runaway.\(k.string ?? "")"
                    let off = v.scalar?.string == "off" || v.scalar?.string == "null"
                    switch k.string {
                    case "max_calls_per_run": configuration.runaway.maxCallsPerRun = off ? nil : int(v, path, 1...10_000_000)
                    case "max_cost_per_run_usd":
                        if off {
                            configuration.runaway.maxCostPerRun = nil
                        } else if let amount = dollars(v, path) {
                            configuration.runaway.maxCostPerRun = amount
                        }
                    case "repeated_requests": configuration.runaway.repeatedRequests = off ? nil : int(v, path, 2...10_000)
                    case "stop": configuration.runaway.stop = bool(v, path) ?? false
                    default: problem(k, path, "unknown setting (expected: \(RunawayPolicy.keys.joined(separator: ", ")); give a limit 'off' to drop it)")
                    }
                }
            case "organization": configuration.organization = string(value, "organization") ?? configuration.organization
            case "log_level":
                let level = string(value, "log_level") ?? "info"
                if ["trace", "debug", "info", "notice", "warning", "error", "critical"].contains(level) {
                    configuration.logLevel = level
                } else {
                    problem(value, "log_level", "'\(level)' is not a log level (trace, debug, info, notice, warning, error, critical)")
                }
            case "providers": configuration.providers = parseProviders(value)
            case "models": configuration.models = parseModels(value)
            case "routing_rules": configuration.routingRules = parseRoutingRules(value)
            case "prices": parsePrices(value, into: &configuration)
            default:
                problem(
                    keyNode, key,
                    "unknown section (expected: server, database, ledger, organization, log_level, providers, models, routing_rules, prices, budgets, alerts, runaway, workloads, outcomes, anomalies)"
                )
            }
        }
        let names = Set(configuration.providers.map(\.name))
        if configuration.providers.isEmpty {
            problem(root, "providers", "no providers are configured; add one (kind: openai, anthropic, openai_compatible or sim)")
        }
        for (index, route) in configuration.models.enumerated() {
            for deployment in route.deployments where !names.contains(deployment.provider) {
                let path =
                    route.deployments.count > 1 || modelNodes[index].mapping?["deployments"] != nil
                    ? "models[\(index)].deployments" : "models[\(index)].provider"
                problem(modelNodes[index], path, "'\(deployment.provider)' is not a configured provider (have: \(names.sorted().joined(separator: ", ")))")
            }
        }
        configuration.fillDefaultModels()
        for (index, route) in configuration.models.enumerated() {
            for tier in route.auto?.tiers ?? [] where tier != route.pattern {
                let serving = configuration.models.first { Glob.matches($0.pattern, tier) }
                let why =
                    serving?.auto != nil
                    ? "is itself auto-routed (tiers cannot nest)"
                    : serving?.deployments.isEmpty ?? true ? "is not served by any route with deployments in models" : nil
                if let why { problem(modelNodes[index], "models[\(index)].auto.tiers", "'\(tier)' \(why)") }
            }
        }
        for (index, rule) in configuration.routingRules.enumerated() where !configuration.models.contains(where: { Glob.matches($0.pattern, rule.route) }) {
            problem(
                ruleNodes[index], "routing_rules[\(index)].route",
                "'\(rule.route)' is not served by any route in models (have: \(configuration.models.map(\.pattern).joined(separator: ", ")))")
        }
        return configuration
    }

    /// `outcomes.github_repositories`: repository (or `owner/*`, or `*`) to a team or a list of teams.
    mutating func repositoryTeams(_ node: Node, _ path: String) -> RepositoryTeams {
        var map: [String: Set<String>] = [:]
        for (k, v) in entries(node, path) {
            guard let key = k.string else { continue }
            if let why = RepositoryTeams.keyProblem(key) {
                problem(k, "\(path).\(key)", why)
                continue
            }
            let teams = v.sequence.map { $0.compactMap(\.scalar?.string) } ?? v.scalar.map { [$0.string] } ?? []
            if teams.isEmpty || teams.contains(where: \.isEmpty) {
                problem(v, "\(path).\(key)", "expected a team or a list of teams (* for any team)")
                continue
            }
            map[key] = Set(teams)
        }
        return RepositoryTeams(map)
    }

    var modelNodes: [Node] = []
    var ruleNodes: [Node] = []

    mutating func parseAlerts(_ node: Node, into configuration: inout StratesConfiguration) {
        for (k, v) in entries(node, "alerts") {
            guard k.string == "webhooks" else {
                problem(k, "alerts.\(k.string ?? "")", "unknown setting (expected: webhooks)")
                continue
            }
            guard let items = v.sequence else {
                problem(v, "alerts.webhooks", "must be a list of {url, format}")
                continue
            }
            for (index, item) in items.enumerated() {
                let path = "alerts.webhooks[\(index)]"
                var webhook = AlertWebhook(url: "")
                for (field, value) in entries(item, path) {
                    switch field.string {
                    case "url": webhook.url = string(value, path + ".url") ?? ""
                    case "format":
                        let text = string(value, path + ".format") ?? "json"
                        if let format = AlertWebhook.Format(rawValue: text) {
                            webhook.format = format
                        } else {
                            problem(value, path + ".format", "'\(text)' is not a format (json, slack)")
                        }
                    default: problem(field, path + ".\(field.string ?? "")", "unknown setting (expected: url, format)")
                    }
                }
                guard let url = URL(string: webhook.url), let scheme = url.scheme, ["http", "https"].contains(scheme), url.host != nil else {
                    problem(item, path + ".url", "needs an http(s) URL")
                    continue
                }
                configuration.alertWebhooks.append(webhook)
            }
        }
    }

    static let serverKeys = """
        host, port, max_body_bytes, max_output_tokens, shutdown_grace_seconds, idle_timeout_seconds, body_timeout_seconds, \
        metrics_token_env
        """

    mutating func parseServer(_ node: Node, into configuration: inout StratesConfiguration) {
        for (k, v) in entries(node, "server") {
            let path = "server.\(k.string ?? "")"
            switch k.string {
            case "host": configuration.host = string(v, path) ?? configuration.host
            case "port": configuration.port = int(v, path, 1...65535) ?? configuration.port
            case "max_body_bytes": configuration.maxBodyBytes = int(v, path, 1024...(1 << 30)) ?? configuration.maxBodyBytes
            case "shutdown_grace_seconds": configuration.shutdownGraceSeconds = int(v, path, 0...3600) ?? configuration.shutdownGraceSeconds
            case "max_output_tokens":
                configuration.maxOutputTokens = int(v, path, 1...Int(Bounds.usageTokensPerRequest)).map(Int64.init) ?? configuration.maxOutputTokens
            case "idle_timeout_seconds":
                configuration.timeouts.idle = int(v, path, 1...86_400).map { .seconds(Int64($0)) } ?? configuration.timeouts.idle
            case "body_timeout_seconds":
                configuration.timeouts.body = int(v, path, 1...86_400).map { .seconds(Int64($0)) } ?? configuration.timeouts.body
            case "metrics_token_env": configuration.metricsTokenEnv = string(v, path)
            default: problem(k, path, "unknown setting (expected: \(Self.serverKeys))")
            }
        }
    }

    mutating func parseProviders(_ node: Node) -> [ProviderConfiguration] {
        var providers: [ProviderConfiguration] = []
        for (k, v) in entries(node, "providers") {
            guard let name = k.string, !name.isEmpty else {
                problem(k, "providers", "a provider needs a name")
                continue
            }
            let base = "providers.\(name)"
            let fields = entries(v, base)
            guard let kindNode = fields.first(where: { $0.0.string == "kind" })?.1 else {
                problem(v, base + ".kind", "missing: say which kind of provider this is (openai, anthropic, openai_compatible, sim)")
                continue
            }
            guard let kindText = string(kindNode, base + ".kind") else { continue }
            guard let kind = ProviderKind(rawValue: kindText) else {
                problem(kindNode, base + ".kind", "'\(kindText)' is not a provider kind (openai, anthropic, openai_compatible, sim)")
                continue
            }
            var provider = ProviderConfiguration(name: name, kind: kind)
            for (fk, fv) in fields {
                let path = base + "." + (fk.string ?? "")
                switch fk.string {
                case "kind": break
                case "base_url":
                    if let url = string(fv, path) {
                        if let parsed = URL(string: url), let scheme = parsed.scheme, ["http", "https"].contains(scheme), parsed.host != nil {
                            provider.baseURL = url
                        } else {
                            problem(fv, path, "'\(url)' is not an http(s) URL")
                        }
                    }
                case "api_key_env": provider.apiKeyEnv = string(fv, path)
                case "api_key_file": provider.apiKeyFile = string(fv, path)
                case "api_key": provider.apiKey = string(fv, path).map(Secret.init)
                case "allow_plaintext_key": provider.allowPlaintextKey = bool(fv, path) ?? false
                case "auth_header": provider.authHeader = string(fv, path)
                case "query": provider.query = stringPairs(fv, path)
                case "headers": provider.headers = stringPairs(fv, path).map { ($0.name, Secret($0.value)) }
                case "timeout_seconds": provider.timeoutSeconds = int(fv, path, 1...86_400) ?? provider.timeoutSeconds
                case "read_timeout_seconds": provider.readTimeoutSeconds = int(fv, path, 1...86_400) ?? provider.readTimeoutSeconds
                case "connect_timeout_seconds": provider.connectTimeoutSeconds = int(fv, path, 1...600) ?? provider.connectTimeoutSeconds
                case "max_connections": provider.maxConnections = int(fv, path, 1...65_536) ?? provider.maxConnections
                case "latency_ms", "ttft_ms", "tokens_per_second", "output_tokens", "fault", "hang_ms":
                    guard kind == .sim else {
                        problem(fk, path, "only a sim provider takes this setting")
                        continue
                    }
                    parseSimSetting(fk, fv, path, into: &provider.sim)
                case "models" where kind == .sim:
                    for (mk, mv) in entries(fv, path) {
                        var settings = provider.sim
                        for (sk, sv) in entries(mv, path + "." + (mk.string ?? "")) {
                            parseSimSetting(sk, sv, path + "." + (mk.string ?? "") + "." + (sk.string ?? ""), into: &settings)
                        }
                        provider.simModels[mk.string ?? ""] = settings
                    }
                default:
                    problem(fk, path, "unknown setting")
                }
            }
            if kind == .openAICompatible, provider.baseURL == nil {
                problem(v, base + ".base_url", "an openai_compatible provider needs a base_url (e.g. http://localhost:8000/v1)")
            }
            if provider.apiKey != nil, !provider.allowPlaintextKey {
                problem(
                    fields.first(where: { $0.0.string == "api_key" })?.0, base + ".api_key",
                    "a provider key written in the config is refused: use api_key_env or api_key_file, or set allow_plaintext_key: true if you must")
            }
            providers.append(provider)
        }
        return providers
    }

    mutating func parseSimSetting(_ key: Node, _ value: Node, _ path: String, into settings: inout SimSettings) {
        switch key.string {
        case "latency_ms": settings.latencyMs = int(value, path, 0...3_600_000) ?? settings.latencyMs
        case "ttft_ms": settings.timeToFirstTokenMs = int(value, path, 0...3_600_000) ?? settings.timeToFirstTokenMs
        case "tokens_per_second": settings.tokensPerSecond = int(value, path, 0...1_000_000) ?? settings.tokensPerSecond
        case "hang_ms": settings.hangMs = int(value, path, 0...86_400_000) ?? settings.hangMs
        case "output_tokens":
            for (k, v) in entries(value, path) {
                switch k.string {
                case "min": settings.outputTokensMin = int(v, path + ".min", 1...1_000_000) ?? settings.outputTokensMin
                case "max": settings.outputTokensMax = int(v, path + ".max", 1...1_000_000) ?? settings.outputTokensMax
                case "mean": settings.outputTokensMean = int(v, path + ".mean", 1...1_000_000)
                case "distribution":
                    let text = string(v, path + ".distribution") ?? ""
                    if let distribution = OutputDistribution(rawValue: text) {
                        settings.outputDistribution = distribution
                    } else {
                        problem(
                            v, path + ".distribution",
                            "'\(text)' is not a distribution (\(OutputDistribution.allCases.map(\.rawValue).joined(separator: ", ")))")
                    }
                default: problem(k, path + "." + (k.string ?? ""), "unknown setting (expected: distribution, min, max, mean)")
                }
            }
            if settings.outputTokensMin > settings.outputTokensMax {
                problem(value, path, "min (\(settings.outputTokensMin)) is above max (\(settings.outputTokensMax))")
            }
        case "fault":
            let text = string(value, path) ?? ""
            if let fault = SimFault(rawValue: text) {
                settings.fault = fault
            } else {
                problem(value, path, "'\(text)' is not a fault (\(SimFault.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
        default:
            problem(key, path, "unknown sim setting (expected: latency_ms, ttft_ms, tokens_per_second, output_tokens, fault, hang_ms)")
        }
    }

    mutating func parsePrices(_ node: Node, into configuration: inout StratesConfiguration) {
        for (k, v) in entries(node, "prices") {
            switch k.string {
            case "discounts":
                for (pk, pv) in entries(v, "prices.discounts") {
                    let path = "prices.discounts." + (pk.string ?? "")
                    guard let text = pv.string, let basisPoints = DecimalText.scaled(text.replacingOccurrences(of: "%", with: ""), decimals: 2),
                        basisPoints <= 10_000
                    else {
                        problem(pv, path, "expected a percentage between 0 and 100, e.g. 12.5")
                        continue
                    }
                    configuration.discounts[pk.string ?? ""] = basisPoints
                }
            case "custom":
                guard let items = v.sequence else {
                    problem(v, "prices.custom", "expected a list of {provider, model, input, output, …} in USD per million tokens")
                    continue
                }
                for (index, item) in items.enumerated() {
                    if let price = parseCustomPrice(item, "prices.custom[\(index)]") { configuration.customPrices.append(price) }
                }
            default:
                problem(k, "prices." + (k.string ?? ""), "unknown setting (expected: discounts, custom)")
            }
        }
    }

    mutating func parseCustomPrice(_ node: Node, _ path: String) -> ModelPrice? {
        var values: [String: (Node, String)] = [:]
        for (k, v) in entries(node, path) {
            guard let key = k.string, let text = v.string else { continue }
            values[key] = (v, text)
        }
        guard let provider = values["provider"]?.1, let model = values["model"]?.1 else {
            problem(node, path, "needs provider and model")
            return nil
        }
        func rate(_ key: String, required: Bool) -> TokenRate? {
            guard let (valueNode, text) = values[key] else {
                if required { problem(node, path + "." + key, "missing (USD per million tokens, e.g. \"3.00\")") }
                return nil
            }
            guard let rate = TokenRate(dollarsPerMillion: text) else {
                problem(valueNode, path + "." + key, "'\(text)' is not a price in USD per million tokens")
                return nil
            }
            return rate
        }
        guard let input = rate("input", required: true), let output = rate("output", required: true) else { return nil }
        var effective = Date(timeIntervalSince1970: 0)
        if let (valueNode, text) = values["effective_from"] {
            let formatter = ISO8601DateFormatter()
            formatter.formatOptions = [.withFullDate]
            if let date = formatter.date(from: text) {
                effective = date
            } else {
                problem(valueNode, path + ".effective_from", "expected a date like 2026-11-01")
            }
        }
        return ModelPrice(
            provider: provider, model: model, effectiveFrom: effective, input: input, output: output,
            cacheRead: rate("cache_read", required: false), cacheWrite5m: rate("cache_write_5m", required: false),
            cacheWrite1h: rate("cache_write_1h", required: false), source: "config"
        )
    }

    // MARK: Scalars

    mutating func entries(_ node: Node, _ path: String) -> [(Node, Node)] {
        guard let mapping = node.mapping else {
            problem(node, path, "expected a mapping")
            return []
        }
        return mapping.map { ($0.key, $0.value) }
    }

    mutating func string(_ node: Node, _ path: String) -> String? {
        guard let scalar = node.scalar else {
            problem(node, path, "expected a text value")
            return nil
        }
        return scalar.string
    }

    mutating func int(_ node: Node, _ path: String, _ range: ClosedRange<Int>) -> Int? {
        guard let text = node.scalar?.string, let value = Int(text) else {
            problem(node, path, "expected a whole number")
            return nil
        }
        guard range.contains(value) else {
            problem(node, path, "\(value) is out of range (\(range.lowerBound)...\(range.upperBound))")
            return nil
        }
        return value
    }

    mutating func bool(_ node: Node, _ path: String) -> Bool? {
        switch node.scalar?.string.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default:
            problem(node, path, "expected true or false")
            return nil
        }
    }

    mutating func stringPairs(_ node: Node, _ path: String) -> [(name: String, value: String)] {
        entries(node, path).compactMap { k, v in
            guard let name = k.string, let value = v.scalar?.string else {
                problem(v, path, "expected name: value pairs")
                return nil
            }
            return (name, value)
        }
    }
}
