#if canImport(Glibc)
import Glibc
#endif
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix

// The lower bound for the benchmarks issue's latency targets: an HTTP/1.1 relay with
// everything of a request on the event loop that owns its client connection. It checks a
// key, forwards the body to one keep-alive upstream connection on the same loop, scans each
// response chunk (standing in for the meter), passes the chunk on with one flush, and
// appends a row to an in-memory ledger. No routing, budgets, attribution, journal or
// SQLite: what Strates adds beyond this is the cost of its layers and its governance.
//
//   relay-probe UPSTREAM_PORT     (listens on a free loopback port and prints it)

let upstreamPort = Int(CommandLine.arguments.dropFirst().first ?? "") ?? 0
guard upstreamPort > 0 else { fatalError("usage: relay-probe UPSTREAM_PORT") }

final class Ledger: @unchecked Sendable {
    let lock = NIOLock()
    var rows: [(bytes: Int, marks: Int)] = []

    func append(bytes: Int, marks: Int) {
        lock.withLock {
            if rows.count >= 100_000 { rows.removeAll(keepingCapacity: true) }
            rows.append((bytes, marks))
        }
    }
}

final class UpstreamHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPClientResponsePart
    weak var relay: RelayHandler?

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        relay?.fromUpstream(unwrapInboundIn(data))
    }
}

final class RelayHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    let ledger: Ledger
    var head: HTTPRequestHead?
    var body = ByteBuffer()
    var upstream: Channel?
    var client: ChannelHandlerContext?
    var bytes = 0
    var marks = 0

    init(ledger: Ledger) {
        self.ledger = ledger
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let received):
            head = received
            body.clear()
        case .body(var part):
            body.writeBuffer(&part)
        case .end:
            client = context
            guard head?.headers.first(name: "authorization") == "Bearer probe-key" else {
                context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .unauthorized, headers: ["content-length": "0"]))), promise: nil)
                context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
                return
            }
            if let upstream {
                forward(to: upstream)
                return
            }
            let handler = UpstreamHandler()
            handler.relay = self
            ClientBootstrap(group: context.eventLoop)
                .channelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
                .channelInitializer { channel in channel.pipeline.addHTTPClientHandlers().flatMap { channel.pipeline.addHandler(handler) } }
                .connect(host: "127.0.0.1", port: upstreamPort)
                .whenSuccess { channel in
                    self.upstream = channel
                    self.forward(to: channel)
                }
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        upstream?.close(promise: nil)
    }

    func forward(to upstream: Channel) {
        guard let received = head else { return }
        var request = HTTPRequestHead(version: .http1_1, method: .POST, uri: received.uri)
        request.headers.add(name: "host", value: "127.0.0.1:\(upstreamPort)")
        request.headers.add(name: "content-type", value: "application/json")
        request.headers.add(name: "content-length", value: String(body.readableBytes))
        request.headers.add(name: "authorization", value: "Bearer upstream")
        for name in ["anthropic-version", "x-api-key"] {
            if let value = received.headers.first(name: name) { request.headers.add(name: name, value: value) }
        }
        upstream.write(HTTPClientRequestPart.head(request), promise: nil)
        upstream.write(HTTPClientRequestPart.body(.byteBuffer(body)), promise: nil)
        upstream.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
    }

    func fromUpstream(_ part: HTTPClientResponsePart) {
        guard let client else { return }
        switch part {
        case .head(let response):
            (bytes, marks) = (0, 0)
            var headers = response.headers
            headers.remove(name: "connection")
            client.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: response.status, headers: headers))), promise: nil)
        case .body(let chunk):
            bytes += chunk.readableBytes
            // The meter's stand-in: one pass over the chunk's bytes looking for `"us`.
            chunk.withUnsafeReadableBytes { raw in
                var index = 0
                while index + 3 <= raw.count {
                    if raw[index] == 0x22, raw[index + 1] == 0x75, raw[index + 2] == 0x73 { marks += 1 }
                    index += 1
                }
            }
            client.writeAndFlush(wrapOutboundOut(.body(.byteBuffer(chunk))), promise: nil)
        case .end:
            client.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            ledger.append(bytes: bytes, marks: marks)
        }
    }
}

let ledger = Ledger()
let group = MultiThreadedEventLoopGroup(numberOfThreads: System.coreCount)
let server = try ServerBootstrap(group: group)
    .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
    .childChannelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
    .childChannelInitializer { channel in
        channel.pipeline.configureHTTPServerPipeline().flatMap { channel.pipeline.addHandler(RelayHandler(ledger: ledger)) }
    }
    .bind(host: "127.0.0.1", port: 0).wait()
print("relay-probe listening on http://127.0.0.1:\(server.localAddress?.port ?? 0) -> 127.0.0.1:\(upstreamPort)")
fflush(stdout)
try server.closeFuture.wait()
