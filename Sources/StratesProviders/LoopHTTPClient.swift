import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// Where an HTTP upstream lives: `http(s)://host[:port][/base/path]`.
public struct UpstreamOrigin: Sendable, Hashable {
    public let host: String
    public let port: Int
    public let tls: Bool
    /// The URL's path (e.g. `/v1`), without a trailing slash.
    public let basePath: String

    public init?(url: String) {
        let tls: Bool
        let rest: Substring
        if url.hasPrefix("https://") {
            (tls, rest) = (true, url.dropFirst(8))
        } else if url.hasPrefix("http://") {
            (tls, rest) = (false, url.dropFirst(7))
        } else {
            return nil
        }
        // No query or fragment: a provider's query parameters have a setting of their own.
        guard !rest.contains("?"), !rest.contains("#") else { return nil }
        let slash = rest.firstIndex(of: "/") ?? rest.endIndex
        var authority = rest[..<slash]
        var path = String(rest[slash...])
        while path.hasSuffix("/") { path.removeLast() }
        if let at = authority.lastIndex(of: "@") { authority = authority[authority.index(after: at)...] }
        let host: Substring
        var portText: Substring?
        if authority.hasPrefix("[") {
            // An IPv6 literal: [::1]:8080
            guard let close = authority.firstIndex(of: "]") else { return nil }
            host = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { return nil }
                portText = after.dropFirst()
            }
            guard host.contains(":"), host.allSatisfy({ $0.isHexDigit || $0 == ":" || $0 == "." }) else { return nil }
        } else {
            if let colon = authority.firstIndex(of: ":") {
                host = authority[..<colon]
                portText = authority[authority.index(after: colon)...]
            } else {
                host = authority
            }
            guard host.allSatisfy({ ($0.isASCII && ($0.isLetter || $0.isNumber)) || $0 == "-" || $0 == "." || $0 == "_" }) else { return nil }
        }
        var port = tls ? 443 : 80
        if let portText {
            guard !portText.isEmpty, portText.count <= 5, portText.allSatisfy({ $0.isASCII && $0.isNumber }), let value = Int(portText) else { return nil }
            port = value
        }
        guard !host.isEmpty, (1...65_535).contains(port) else { return nil }
        // The path goes into the request line as it is: printable ASCII only.
        guard path.utf8.allSatisfy({ (0x21...0x7e).contains($0) }) else { return nil }
        self.host = String(host)
        self.port = port
        self.tls = tls
        self.basePath = path
    }

    /// The `host` header's value.
    var hostHeader: String {
        let name = host.contains(":") ? "[\(host)]" : host
        return port == (tls ? 443 : 80) ? name : "\(name):\(port)"
    }
}

/// An HTTP/1.1 client for one upstream, with keep-alive connections pooled per event loop.
/// A call runs on the loop it is made from (the client connection's, for the gateway), so
/// the request, the upstream's answer and the relay to the client share one thread; the
/// answer's body arrives as an async sequence that reads from the socket only as fast as
/// it is consumed.
public final class LoopHTTPClient: Sendable {
    public struct Settings: Sendable {
        public var connectTimeout: TimeAmount = .seconds(10)
        /// Longest silence allowed on a connection while a call is on it.
        public var readTimeout: TimeAmount = .seconds(300)
        /// Connections open at once to this upstream, spread evenly over the loops; calls
        /// beyond it wait for one to come free.
        public var maxConnections = 2048
        /// How long an unused connection is kept.
        public var idleTimeout: TimeAmount = .seconds(60)

        public init() {}
    }

    public struct Response: Sendable {
        public let head: HTTPResponseHead
        public let body: UpstreamBody
    }

    let origin: UpstreamOrigin
    let settings: Settings
    let group: any EventLoopGroup
    let pools: [ObjectIdentifier: LoopPool]
    let tlsContext: NIOSSLContext?

    public init(origin: UpstreamOrigin, settings: Settings = Settings(), group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) throws {
        self.origin = origin
        self.settings = settings
        self.group = group
        let loops = Array(group.makeIterator())
        let perLoop = max(1, settings.maxConnections / max(loops.count, 1))
        var pools: [ObjectIdentifier: LoopPool] = [:]
        for loop in loops { pools[ObjectIdentifier(loop)] = LoopPool(loop: loop, limit: perLoop) }
        self.pools = pools
        self.tlsContext = origin.tls ? try NIOSSLContext(configuration: .makeClientConfiguration()) : nil
    }

    /// Sends one request and returns when the response head has arrived (or fails with a
    /// `ProviderError`). `headTimeout` bounds the wait for the head.
    public func execute(_ head: HTTPRequestHead, body: ByteBuffer, headTimeout: TimeAmount) async throws -> Response {
        var loop = MultiThreadedEventLoopGroup.currentEventLoop ?? group.next()
        if pools[ObjectIdentifier(loop)] == nil { loop = group.next() }
        guard let pool = pools[ObjectIdentifier(loop)] else { throw ProviderError.connect("no event loop for the upstream") }
        let call = Call(client: self, head: head, body: body, headTimeout: headTimeout)
        let future = loop.inEventLoop ? pool.run(call) : loop.flatSubmit { pool.run(call) }
        return try await future.get()
    }

    /// Closes every pooled connection.
    public func shutdown() async {
        for pool in pools.values {
            try? await pool.loop.submit { pool.closeAll() }.get()
        }
    }

    struct Call: Sendable {
        let client: LoopHTTPClient
        let head: HTTPRequestHead
        let body: ByteBuffer
        let headTimeout: TimeAmount
    }

    func connect(on loop: any EventLoop) -> EventLoopFuture<any Channel> {
        let (origin, settings, tlsContext) = (origin, settings, tlsContext)
        return ClientBootstrap(group: loop)
            .connectTimeout(settings.connectTimeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelOption(.autoRead, value: false)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let pipeline = channel.pipeline.syncOperations
                    if let tlsContext {
                        let isAddress = origin.host.contains(":") || origin.host.allSatisfy { $0.isNumber || $0 == "." }
                        try pipeline.addHandler(NIOSSLClientHandler(context: tlsContext, serverHostname: isAddress ? nil : origin.host))
                    }
                    try pipeline.addHTTPClientHandlers()
                    try pipeline.addHandler(UpstreamExchangeHandler(readTimeout: settings.readTimeout))
                }
            }
            .connect(host: origin.host, port: origin.port)
    }
}

/// One loop's connections to an upstream. Touched only on its loop.
final class LoopPool: @unchecked Sendable {
    let loop: any EventLoop
    let limit: Int
    private var idle: [(channel: any Channel, since: NIODeadline)] = []
    private var open = 0
    private var waiting = CircularBuffer<(call: LoopHTTPClient.Call, promise: EventLoopPromise<LoopHTTPClient.Response>)>()

    init(loop: any EventLoop, limit: Int) {
        self.loop = loop
        self.limit = limit
    }

    func run(_ call: LoopHTTPClient.Call) -> EventLoopFuture<LoopHTTPClient.Response> {
        let promise = loop.makePromise(of: LoopHTTPClient.Response.self)
        start(call, promise: promise)
        return promise.futureResult
    }

    private func start(_ call: LoopHTTPClient.Call, promise: EventLoopPromise<LoopHTTPClient.Response>, retried: Bool = false) {
        let now = NIODeadline.now()
        while let (channel, since) = idle.popLast() {
            guard channel.isActive, now - since < call.client.settings.idleTimeout else {
                channel.close(promise: nil)
                continue
            }
            exchange(call, on: channel, reused: !retried, promise: promise)
            return
        }
        guard open < limit else {
            waiting.append((call, promise))
            return
        }
        open += 1
        call.client.connect(on: loop).whenComplete { result in
            switch result {
            case .success(let channel):
                channel.closeFuture.whenComplete { _ in self.closed(channel) }
                self.exchange(call, on: channel, reused: false, promise: promise)
            case .failure(let error):
                self.open -= 1
                promise.fail(ProviderError.connect("\(call.client.origin.host):\(call.client.origin.port): \(error)"))
                self.startWaiting()
            }
        }
    }

    /// Runs the call on `channel`. A kept connection the upstream had already closed fails
    /// before any answer: the call is then tried once more on a new connection.
    private func exchange(_ call: LoopHTTPClient.Call, on channel: any Channel, reused: Bool, promise: EventLoopPromise<LoopHTTPClient.Response>) {
        let handler: UpstreamExchangeHandler
        do {
            handler = try channel.pipeline.syncOperations.handler(type: UpstreamExchangeHandler.self)
        } catch {
            channel.close(promise: nil)
            start(call, promise: promise, retried: true)
            return
        }
        handler.begin(call, pool: self) { [self] outcome in
            switch outcome {
            case .answered(let response): promise.succeed(response)
            case .failed(let error, let beforeAnyByte):
                if reused && beforeAnyByte {
                    start(call, promise: promise, retried: true)
                } else {
                    promise.fail(error)
                }
            }
        }
    }

    /// A connection whose exchange is over: kept for the next call, or closed.
    func release(_ channel: any Channel, reusable: Bool) {
        guard reusable, channel.isActive else {
            channel.close(promise: nil)
            return
        }
        if let next = waiting.popFirst() {
            exchange(next.call, on: channel, reused: true, promise: next.promise)
        } else {
            idle.append((channel, .now()))
        }
    }

    private func closed(_ channel: any Channel) {
        open -= 1
        idle.removeAll { $0.channel === channel }
        startWaiting()
    }

    private func startWaiting() {
        if open < limit, let next = waiting.popFirst() { start(next.call, promise: next.promise) }
    }

    func closeAll() {
        for (channel, _) in idle { channel.close(promise: nil) }
        idle.removeAll()
    }
}
