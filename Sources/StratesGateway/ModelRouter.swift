import StratesCore
import StratesProviders

/// A model name (or glob pattern) clients may ask for, and where it is served.
public struct ModelRoute: Sendable, Equatable {
    /// The name clients send, or a glob such as `claude-*` or `*`.
    public var pattern: String
    public var provider: String
    /// The upstream's model id; nil serves the requested name unchanged.
    public var upstreamModel: String?

    public init(pattern: String, provider: String, upstreamModel: String? = nil) {
        self.pattern = pattern
        self.provider = provider
        self.upstreamModel = upstreamModel
    }

    public var isPattern: Bool { pattern.contains("*") || pattern.contains("?") }
}

/// Resolves a requested model to a provider and the upstream's model id. The first route
/// that matches wins. (Aliases with several deployments and fallbacks build on this.)
public struct ModelRouter: Sendable {
    public let routes: [ModelRoute]
    public let providers: [String: any Provider]

    public init(routes: [ModelRoute], providers: [any Provider]) {
        self.routes = routes
        self.providers = Dictionary(providers.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
    }

    public func resolve(_ model: String) -> (provider: any Provider, upstreamModel: String)? {
        for route in routes where Glob.matches(route.pattern, model) {
            guard let provider = providers[route.provider] else { continue }
            return (provider, route.upstreamModel ?? model)
        }
        return nil
    }

    /// The concrete model names, for `GET /v1/models` and error messages.
    public var advertisedModels: [String] {
        var seen = Set<String>()
        return routes.filter { !$0.isPattern }.map(\.pattern).filter { seen.insert($0).inserted }
    }
}
