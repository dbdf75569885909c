import AsyncHTTPClient
import Foundation
import Logging
import Metrics
import NIOCore
import NIOPosix
import Prometheus
import StratesCore
import StratesGateway
import StratesLedger
import StratesLedgerSQLite
import StratesProviders

/// Everything a running Strates holds: the ledger, the gateway, its providers and metrics.
public struct StratesRuntime: Sendable {
    public let configuration: StratesConfiguration
    public let database: any LedgerDatabase
    public let ledgerWriter: LedgerWriter
    public let gateway: Gateway
    public let authenticator: Authenticator
    public let pricing: Pricing
    public let registry: PrometheusCollectorRegistry
    public let providers: [any Provider]
    public let budgets: BudgetGuard
    public let rateLimits: RateLimiter
    public let policies: AccessGuard
    public let grants: GrantGuard
    public let reserves: ReserveGuard
    /// Routes defined through the admin API, in force before the configuration's.
    public let routeDefinitions: RuleIndex<RouteDefinition>
    /// The secret GitHub webhook deliveries are signed with; nil when none is configured.
    public let githubWebhookSecret: Secret?
    /// The bearer token `/metrics` asks for; nil leaves it open (as Prometheus scrapes expect).
    public let metricsToken: Secret?
    let httpClients: [HTTPClient]
    let upstreamClients: [LoopHTTPClient]

    /// Opens the ledger, replays what a crash left in its journal, and builds the
    /// providers. Throws `ConfigurationError` for missing credentials.
    public static func start(configuration: StratesConfiguration, environment: [String: String], logger: Logger) async throws -> StratesRuntime {
        let providerSettings = try resolveProviders(configuration, environment: environment)
        let githubSecret = try secret(named: configuration.githubWebhookSecretEnv, at: "outcomes.github_webhook_secret_env", in: environment)
        let metricsToken = try secret(named: configuration.metricsTokenEnv, at: "server.metrics_token_env", in: environment)
        let database = try SQLiteLedger(path: configuration.databasePath)
        let lock = try JournalLock(directory: configuration.journalDirectory)
        let pricing = Pricing(try await catalog(configuration: configuration, store: database))
        try await LedgerWriter.recover(store: database, lock: lock, logger: logger) { pricing.cost(of: $0) }
        let writer = try LedgerWriter(
            store: database, lock: lock, flushInterval: .milliseconds(configuration.flushIntervalMs), logger: logger
        )
        var providers: [any Provider] = []
        var clients: [HTTPClient] = []
        var upstreamClients: [LoopHTTPClient] = []
        for item in providerSettings {
            switch item {
            case .sim(let name, let settings, let perModel):
                providers.append(SimProvider(name: name, defaults: settings, perModel: perModel))
            case .http(let settings, let origin, let connect, let read, let maxConnections):
                var clientSettings = LoopHTTPClient.Settings()
                (clientSettings.connectTimeout, clientSettings.readTimeout, clientSettings.maxConnections) = (connect, read, maxConnections)
                let client = try LoopHTTPClient(origin: origin, settings: clientSettings)
                upstreamClients.append(client)
                providers.append(HTTPProvider(settings: settings, client: client))
            }
        }
        var alertClient: HTTPClient?
        if !configuration.alertWebhooks.isEmpty {
            let client = HTTPClient(eventLoopGroup: MultiThreadedEventLoopGroup.singleton)
            clients.append(client)
            alertClient = client
        }
        let dispatcher = AlertDispatcher(webhooks: configuration.alertWebhooks, client: alertClient, logger: logger, events: database)
        let budgets = BudgetGuard(
            store: database, counters: InProcessBudgetCounters(store: database, beforeCounting: { await writer.flush() }), sink: dispatcher)
        let rateLimits = RateLimiter(store: database)
        let policies = AccessGuard(store: database, pricing: pricing)
        let grants = GrantGuard(store: database, beforeCounting: { await writer.flush() })
        let reserves = ReserveGuard(store: database, beforeCounting: { await writer.flush() })
        try await budgets.reload()
        try await rateLimits.reload()
        try await policies.reload()
        try await grants.reload()
        try await reserves.reload()
        let definitions = try await database.rules(RouteDefinition.self)
        let routeDefinitions = RuleIndex<RouteDefinition>()
        routeDefinitions.replace(with: definitions)
        let registry = PrometheusCollectorRegistry()
        let authenticator = Authenticator(store: database)
        var limits = GatewayLimits()
        limits.maxOutputTokens = configuration.maxOutputTokens
        limits.defaultOutputTokens = configuration.budgetDefaultOutputTokens
        let controls = GatewayControls(
            runs: configuration.runaway.isOff ? nil : RunWatch(policy: configuration.runaway), policies: policies, rateLimits: rateLimits,
            reserves: reserves, grants: grants, budgets: budgets)
        let gateway = Gateway(
            authenticator: authenticator,
            router: ModelRouter(routes: definitions.map(\.route) + configuration.models, providers: providers, rules: configuration.routingRules),
            ledger: writer, pricing: pricing, metrics: GatewayMetrics(factory: PrometheusMetricsFactory(registry: registry)),
            controls: controls, limits: limits, notices: dispatcher)
        try await gateway.refreshTierRecords(from: database)
        return StratesRuntime(
            configuration: configuration, database: database, ledgerWriter: writer, gateway: gateway,
            authenticator: authenticator, pricing: pricing, registry: registry, providers: providers, budgets: budgets,
            rateLimits: rateLimits, policies: policies, grants: grants, reserves: reserves, routeDefinitions: routeDefinitions,
            githubWebhookSecret: githubSecret, metricsToken: metricsToken, httpClients: clients, upstreamClients: upstreamClients
        )
    }

    /// The value of the environment variable a setting names, when it names one; an unset
    /// or empty variable is a configuration error rather than a silently open door.
    static func secret(named variable: String?, at path: String, in environment: [String: String]) throws -> Secret? {
        guard let variable else { return nil }
        guard let value = environment[variable], !value.isEmpty else {
            throw ConfigurationError(problems: [ConfigurationProblem(path: path, message: "the environment variable \(variable) is not set")])
        }
        return Secret(value)
    }

    /// Built-in prices, then imported ones, then the config's own; discounts from the config.
    public static func catalog(configuration: StratesConfiguration, store: any PriceStore) async throws -> PriceCatalog {
        var catalog = PriceCatalog.builtIn()
        for price in try await store.prices() { catalog.add(price) }
        for price in configuration.customPrices { catalog.add(price) }
        catalog.discounts = configuration.discounts
        return catalog
    }

    /// Reads every control definition again (budgets, rate limits, policies, grants,
    /// reserves) and the routes defined through the admin API.
    public func reloadControls() async throws {
        let definitions = try await database.rules(RouteDefinition.self)
        if definitions != routeDefinitions.all {
            routeDefinitions.replace(with: definitions)
            gateway.replaceRoutes(definitions.map(\.route) + configuration.models)
        }
        try await budgets.reload()
        try await rateLimits.reload()
        try await policies.reload()
        try await grants.reload()
        try await reserves.reload()
        try await gateway.refreshTierRecords(from: database)
    }

    public func shutdown() async {
        for client in httpClients { try? await client.shutdown() }
        for client in upstreamClients { await client.shutdown() }
    }

    enum ResolvedProvider {
        case sim(String, SimSettings, [String: SimSettings])
        case http(HTTPProviderSettings, UpstreamOrigin, connect: TimeAmount, read: TimeAmount, maxConnections: Int)
    }

    /// Turns provider configuration into settings with credentials, reporting every
    /// provider whose credential cannot be found. Credentials are never logged.
    static func resolveProviders(_ configuration: StratesConfiguration, environment: [String: String]) throws(ConfigurationError) -> [ResolvedProvider] {
        var problems: [ConfigurationProblem] = []
        var resolved: [ResolvedProvider] = []
        for provider in configuration.providers {
            if provider.kind == .sim {
                resolved.append(.sim(provider.name, provider.sim, provider.simModels))
                continue
            }
            var key: String?
            if let file = provider.apiKeyFile {
                if let data = FileManager.default.contents(atPath: file) {
                    key = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
                } else {
                    problems.append(ConfigurationProblem(path: "providers.\(provider.name).api_key_file", message: "cannot read '\(file)'"))
                    continue
                }
            } else if provider.apiKeyEnv == nil, provider.allowPlaintextKey, let written = provider.apiKey {
                // A key written in the config (allowed explicitly) wins over the kind's default variable.
                key = written.value
            } else if let variable = provider.apiKeyEnv ?? provider.defaultKeyEnv {
                key = environment[variable]
                if key?.isEmpty ?? true {
                    problems.append(
                        ConfigurationProblem(path: "providers.\(provider.name)", message: "no credential: the environment variable \(variable) is not set"))
                    continue
                }
            }
            guard let baseURL = provider.baseURL ?? provider.defaultBaseURL else {
                problems.append(ConfigurationProblem(path: "providers.\(provider.name).base_url", message: "missing"))
                continue
            }
            guard let origin = UpstreamOrigin(url: baseURL) else {
                problems.append(
                    ConfigurationProblem(
                        path: "providers.\(provider.name).base_url", message: "'\(baseURL)' is not an http:// or https:// URL (e.g. http://localhost:8000/v1)"))
                continue
            }
            let settings = HTTPProviderSettings(
                name: provider.name, kind: provider.kind, baseURL: baseURL, apiKey: key.map(Secret.init), authHeader: provider.authHeader,
                query: provider.query, headers: provider.headers, timeout: .seconds(Int64(provider.timeoutSeconds))
            )
            resolved.append(
                .http(
                    settings, origin, connect: .seconds(Int64(provider.connectTimeoutSeconds)), read: .seconds(Int64(provider.readTimeoutSeconds)),
                    maxConnections: provider.maxConnections
                ))
        }
        if !problems.isEmpty { throw ConfigurationError(problems: problems) }
        return resolved
    }
}

extension StratesRuntime {
    /// Checks that every provider's credential can be found, as `serve` will.
    public static func checkCredentials(_ configuration: StratesConfiguration, environment: [String: String]) throws(ConfigurationError) {
        _ = try resolveProviders(configuration, environment: environment)
    }
}
