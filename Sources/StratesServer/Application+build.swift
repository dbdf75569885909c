import Foundation
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import StratesCore
import StratesProviders

/// Builds the Strates HTTP application over a started runtime. Tests call this too.
public func buildApplication(runtime: StratesRuntime, logger: Logger, onRunning: @escaping @Sendable (Int) async -> Void = { _ in }) -> some ApplicationProtocol
{
    let router = Router(context: StratesRequestContext.self)
    GatewayController(gateway: runtime.gateway).addRoutes(to: router)
    router.addRoutes(OperationsController(runtime: runtime).endpoints)
    // GitHub signs its deliveries; there is no admin key on this one.
    router.post("/api/outcomes/github", use: OutcomeController(runtime: runtime).github)
    router.get("/api/openapi.json") { _, _ in HTTPAdapters.json(.ok, AdminAPIDocument.json) }
    // Every other `/api` route: the admin key resolved once into an `AdminContext`, every
    // failure rendered in the admin API's format.
    let api = router.group("/api").add(middleware: AdminErrors()).add(middleware: AdminAuthentication(runtime: runtime))
        .group(context: AdminContext.self)
    let grants = GrantController(runtime: runtime)
    let reserves = ReserveController(runtime: runtime)
    let routing = RoutingController(runtime: runtime)
    api.addRoutes(UsageController(runtime: runtime).endpoints, atPath: "/usage")
    api.addRoutes(BudgetController(runtime: runtime).endpoints, atPath: "/budgets")
    api.addRoutes(RuleController(runtime: runtime, index: runtime.rateLimits.rules).endpoints, atPath: "/\(RateLimit.collection)")
    api.addRoutes(RuleController(runtime: runtime, index: runtime.policies.rules).endpoints, atPath: "/\(AccessPolicy.collection)")
    api.addRoutes(grants.endpoints, atPath: "/grants")
    api.addRoutes(grants.memberEndpoints, atPath: "/members")
    api.addRoutes(reserves.endpoints, atPath: "/reserves")
    api.addRoutes(reserves.statusEndpoints, atPath: "/reserve-status")
    api.addRoutes(routing.endpoints, atPath: "/routes")
    api.addRoutes(routing.routingEndpoints, atPath: "/routing")
    api.addRoutes(ReportController(runtime: runtime).endpoints, atPath: "/reports")
    api.addRoutes(FeedbackController(runtime: runtime).endpoints, atPath: "/feedback")
    api.addRoutes(OutcomeController(runtime: runtime).endpoints, atPath: "/outcomes")
    // `GET /api`: every admin route, so that clients (and the tenant-isolation test) can
    // discover them rather than keep their own list.
    let listing = APIJSON.bytes(APIList(AdminAPIDocument.routes(of: router).map { AdminRoute(method: $0.method, path: $0.path) }))
    api.get { _, _ in HTTPAdapters.json(.ok, listing) }
    router.add(middleware: UnknownRoute())
    // The model APIs are answered in each connection's pipeline, on its event loop.
    let endpoint = GatewayChannelHandler.Endpoint(gateway: runtime.gateway, maxBodyBytes: runtime.configuration.maxBodyBytes, logger: logger)
    let timeouts = runtime.configuration.timeouts
    return Application(
        router: router,
        server: .http1(configuration: .init(additionalChannelHandlers: [ConnectionDeadlines(timeouts: timeouts), GatewayChannelHandler(endpoint: endpoint)])),
        configuration: .init(address: .hostname(runtime.configuration.host, port: runtime.configuration.port), serverName: "strates"),
        onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? runtime.configuration.port) },
        logger: logger
    )
}

/// Runs `strates serve` until SIGTERM or SIGINT: in-flight requests and streams finish
/// (within the configured grace period), then the ledger writer flushes what it holds.
public enum StratesServe {
    public static func run(configuration: StratesConfiguration, environment: [String: String], logger: Logger) async throws {
        let runtime = try await StratesRuntime.start(configuration: configuration, environment: environment, logger: logger)
        let providers = runtime.providers.map { "\($0.name) (\($0.kind.rawValue))" }.joined(separator: ", ")
        let simOnly = runtime.providers.allSatisfy { $0.kind == .sim }
        let app = buildApplication(runtime: runtime, logger: logger) { port in
            var lines = ["Strates listening on http://\(configuration.host):\(port)"]
            lines.append("  config:    \(configuration.source)")
            lines.append("  ledger:    \(configuration.databasePath)")
            lines.append("  providers: \(providers)")
            if simOnly {
                lines.append("  No provider keys are set (OPENAI_API_KEY, ANTHROPIC_API_KEY), so every model is served by the simulated provider 'sim'.")
            }
            if (try? await runtime.database.keyCount()) == 0 {
                lines.append("  No keys yet: create one with 'strates keys create --member you' (add --admin for /api access).")
            }
            FileHandle.standardOutput.write(Data((lines.joined(separator: "\n") + "\n").utf8))
        }
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [
            .init(service: runtime.ledgerWriter), .init(service: MemoryTrimmer()),
            .init(service: ControlReloader(runtime: runtime, interval: .seconds(configuration.budgetReloadSeconds), logger: logger)),
        ]
        if let sink = runtime.gateway.notices { services.append(.init(service: AnomalyWatcher(runtime: runtime, sink: sink, logger: logger))) }
        services.append(.init(service: app))
        var serviceConfiguration = ServiceGroupConfiguration(
            services: services,
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger
        )
        serviceConfiguration.maximumGracefulShutdownDuration = .seconds(configuration.shutdownGraceSeconds)
        let group = ServiceGroup(configuration: serviceConfiguration)
        // The ledger writer flushes what it holds as its own last step, on shutdown or failure.
        do {
            try await group.run()
        } catch {
            await runtime.shutdown()
            throw error
        }
        await runtime.shutdown()
    }
}

/// Runs the simulated provider as its own server (`strates sim serve`).
public enum SimServe {
    public static func run(host: String, port: Int, settings: SimSettings, logger: Logger) async throws {
        let provider = SimProvider(name: "sim", defaults: settings, recordServed: true)
        let router = Router()
        SimController(provider: provider, maxBodyBytes: 64 << 20).addRoutes(to: router)
        let app = Application(
            router: router,
            configuration: .init(address: .hostname(host, port: port), serverName: "strates-sim"),
            onServerRunning: { channel in
                FileHandle.standardOutput.write(Data("Strates sim listening on http://\(host):\(channel.localAddress?.port ?? port)\n".utf8))
            },
            logger: logger
        )
        try await app.runService()
    }
}

/// One admin route, as `GET /api` lists it.
struct AdminRoute: APIRepresentable {
    var method: String
    var path: String

    func encodeFields(_ fields: inout APIFields) throws {
        try fields.put("method", method)
        try fields.put("path", path)
    }
}
