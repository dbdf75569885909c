import HTTPTypes
import Logging
import NIOCore
import NIOHTTPTypes
import StratesGateway
import StratesWire

/// The model APIs (`POST /v1/chat/completions`, `/v1/messages`, …) served inside the
/// connection's channel pipeline, ahead of Hummingbird's router: the request is read on the
/// event loop that owns the connection, the gateway's task prefers that loop, and the answer
/// is written from it chunk by chunk. Every other request (the admin API, `GET /v1/models`)
/// passes on to Hummingbird untouched.
///
/// This is the hot path of every agent call. Hummingbird's own path hands each request and
/// each response chunk between the loop and a task on the global pool; here a call's work
/// stays on one thread. The gateway's decisions are the same code either way
/// (`Gateway.handle`); Hummingbird's routes for these paths remain for in-process tests.
final class GatewayChannelHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    /// What every connection's handler shares.
    struct Endpoint: Sendable {
        let gateway: Gateway
        let maxBodyBytes: Int
        let logger: Logger
        /// `/v1/messages` → `.messages`, and the same without `/v1`.
        let routes: [Substring: APIKind]

        init(gateway: Gateway, maxBodyBytes: Int, logger: Logger) {
            self.gateway = gateway
            self.maxBodyBytes = maxBodyBytes
            self.logger = logger
            var routes: [Substring: APIKind] = [:]
            for prefix in APIKind.pathPrefixes {
                for api in APIKind.allCases { routes[Substring(prefix + api.upstreamPath)] = api }
            }
            self.routes = routes
        }

        /// The model API served at `path`, when one is.
        static func api(at path: Substring) -> APIKind? {
            APIKind.allCases.first { api in APIKind.pathPrefixes.contains { path == $0 + api.upstreamPath } }
        }
    }

    /// A model call being read.
    struct Incoming {
        let api: APIKind
        let head: HTTPRequest
        let receivedAt: ContinuousClock.Instant
        /// The body as the gateway takes it, filled in one copy from the decoder's chunks,
        /// sized up front from `content-length` (up to 4 MiB: a declared length reserves no
        /// more than that before its bytes arrive).
        var body: [UInt8] = []
        var tooLarge = false

        init(api: APIKind, head: HTTPRequest, receivedAt: ContinuousClock.Instant, maxBodyBytes: Int) {
            (self.api, self.head, self.receivedAt) = (api, head, receivedAt)
            if let declared = head.headerFields[.contentLength].flatMap(Int.init), declared > 0, declared <= maxBodyBytes {
                body.reserveCapacity(min(declared, 4 << 20))
            }
        }
    }

    enum State {
        case idle
        /// A request for Hummingbird's routes, passed on part by part; `answered` once the
        /// router has written its whole answer (it may answer before reading the body).
        case passing(answered: Bool)
        /// The router's request has been read whole, its answer not yet written: further
        /// input waits, so that answers leave in the order the requests came.
        case awaitingRouter
        case reading(Incoming)
        /// A model call's answer is being written; further input waits.
        case answering
    }

    let endpoint: Endpoint
    private var state = State.idle
    /// Parts of a pipelined request that arrived during an answer.
    private var queued = CircularBuffer<HTTPRequestPart>()
    private var readHeld = false
    private var closeAfterAnswer = false
    private var endWritten = false
    private var writabilityWaiters: [EventLoopPromise<Void>] = []
    private var executor: EventLoopExecutor?

    init(endpoint: Endpoint) {
        self.endpoint = endpoint
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        if isWaiting {
            queued.append(part)
        } else {
            take(part, context: context)
        }
    }

    /// True while an answer (ours or the router's) is outstanding and input must wait.
    private var isWaiting: Bool {
        switch state {
        case .answering, .awaitingRouter: return true
        case .idle, .passing, .reading: return false
        }
    }

    private func take(_ part: HTTPRequestPart, context: ChannelHandlerContext) {
        switch state {
        case .idle:
            if case .head(let head) = part, head.method == .post, let api = endpoint.routes[Self.path(of: head)] {
                state = .reading(Incoming(api: api, head: head, receivedAt: .now, maxBodyBytes: endpoint.maxBodyBytes))
            } else {
                if case .head = part { state = .passing(answered: false) }
                context.fireChannelRead(wrapInboundOut(part))
            }
        case .passing(let answered):
            if case .end = part { state = answered ? .idle : .awaitingRouter }
            context.fireChannelRead(wrapInboundOut(part))
        case .reading(var incoming):
            switch part {
            case .head:
                // The decoder never sends a head before the previous request's end.
                context.close(promise: nil)
            case .body(let chunk):
                state = .answering  // lets `incoming` hold the only reference to its body
                if !incoming.tooLarge {
                    if incoming.body.count + chunk.readableBytes > endpoint.maxBodyBytes {
                        incoming.tooLarge = true
                        incoming.body = []
                    } else {
                        incoming.body.append(contentsOf: chunk.readableBytesView)
                    }
                }
                state = .reading(incoming)
            case .end:
                state = .answering
                answer(incoming, context: context)
            }
        case .answering, .awaitingRouter:
            queued.append(part)
        }
    }

    /// The router's answers pass through here on their way out: once one has ended, the
    /// input that waited for it is taken.
    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        context.write(data, promise: promise)
        guard case .end = unwrapOutboundIn(data) else { return }
        switch state {
        case .passing: state = .passing(answered: true)
        case .awaitingRouter: resume(context: context)
        case .idle, .reading, .answering: break
        }
    }

    /// Runs the call through the gateway on a task that prefers this loop, then writes the answer.
    private func answer(_ incoming: Incoming, context: ChannelHandlerContext) {
        if let connection = incoming.head.headerFields[.connection], connection.lowercased().contains("close") {
            closeAfterAnswer = true
        }
        let loop = context.eventLoop
        let bound = NIOLoopBound((handler: self, context: context), eventLoop: loop)
        if incoming.tooLarge {
            let error = GatewayError.bodyTooLarge(limit: endpoint.maxBodyBytes)
            writeWhole(
                status: error.statusCode, headers: error.responseHeaders, body: ByteBuffer(bytes: error.body(format: incoming.api.errorFormat)),
                context: context)
            finishAnswer(context: context)
            return
        }
        let path = incoming.head.path ?? ""
        let query = path.firstIndex(of: "?").map { String(path[path.index(after: $0)...]) }
        let executor = self.executor ?? EventLoopExecutor(loop: loop)
        self.executor = executor
        let request = GatewayRequest(
            api: incoming.api, headers: HTTPAdapters.headers(incoming.head.headerFields), body: incoming.body,
            query: query, receivedAt: incoming.receivedAt, executor: executor
        )
        let endpoint = self.endpoint
        Task(executorPreference: executor) {
            await GatewayChannelHandler.serve(request, endpoint: endpoint, bound: bound, loop: loop)
        }
    }

    typealias Bound = NIOLoopBound<(handler: GatewayChannelHandler, context: ChannelHandlerContext)>

    private static func serve(_ request: GatewayRequest, endpoint: Endpoint, bound: Bound, loop: any EventLoop) async {
        let response = await endpoint.gateway.handle(request, logger: endpoint.logger)
        let stream = try? await onLoop(loop) { bound.value.handler.send(response, context: bound.value.context) }
        await stream?.relay(bound: bound, loop: loop)
        _ = try? await onLoop(loop) { bound.value.handler.finishAnswer(context: bound.value.context) }
    }

    /// Writes the head, and a whole body at once; returns the stream to relay when the answer is one.
    private func send(_ response: GatewayResponse, context: ChannelHandlerContext) -> StreamRelay? {
        switch response.body {
        case .bytes(let bytes):
            writeWhole(status: response.status, headers: response.headers, body: ByteBuffer(bytes: bytes), context: context)
        case .buffer(let buffer):
            writeWhole(status: response.status, headers: response.headers, body: buffer, context: context)
        case .stream(let relay):
            let head = HTTPResponse(status: .init(code: response.status), headerFields: HTTPAdapters.fields(response.headers))
            context.writeAndFlush(wrapOutboundOut(.head(head)), promise: nil)
            return relay
        }
        // The answer is on its way: now the ledger, budgets and metrics.
        writeEnd(context: context)
        response.settlement?.run()
        return nil
    }

    private func writeWhole(status: Int, headers: [(name: String, value: String)], body: ByteBuffer, context: ChannelHandlerContext) {
        var fields = HTTPAdapters.fields(headers)
        fields[.contentLength] = String(body.readableBytes)
        context.write(wrapOutboundOut(.head(HTTPResponse(status: .init(code: status), headerFields: fields))), promise: nil)
        if body.readableBytes > 0 { context.write(wrapOutboundOut(.body(body)), promise: nil) }
    }

    enum WriteOutcome: Sendable {
        case written
        /// Written, but the client is not reading: the next chunk waits for this.
        case wait(EventLoopFuture<Void>)
        case gone
    }

    /// One chunk of a stream, flushed at once.
    func write(chunk: ByteBuffer, context: ChannelHandlerContext) -> WriteOutcome {
        guard context.channel.isActive else { return .gone }
        context.writeAndFlush(wrapOutboundOut(.body(chunk)), promise: nil)
        guard !context.channel.isWritable else { return .written }
        let promise = context.eventLoop.makePromise(of: Void.self)
        writabilityWaiters.append(promise)
        return .wait(promise.futureResult)
    }

    /// Ends the answer on the wire (once).
    func writeEnd(context: ChannelHandlerContext) {
        guard !endWritten else { return }
        endWritten = true
        if context.channel.isActive {
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        }
    }

    /// Ends the answer, then goes on with the connection: closes it when asked to, or
    /// takes the input that waited.
    private func finishAnswer(context: ChannelHandlerContext) {
        writeEnd(context: context)
        endWritten = false
        state = .idle
        if closeAfterAnswer {
            context.close(promise: nil)
            return
        }
        resume(context: context)
    }

    /// Goes on with the connection after an answer: takes the input that waited, and reads on.
    private func resume(context: ChannelHandlerContext) {
        state = .idle
        // Parts passed on here, outside a read, reach the router (whose channel hands
        // them over at the end of a read) with a read-complete of their own.
        let drained = !queued.isEmpty
        defer { if drained { context.fireChannelReadComplete() } }
        while let part = queued.popFirst() {
            take(part, context: context)
            if isWaiting { return }
        }
        if readHeld {
            readHeld = false
            context.read()
        }
    }

    func read(context: ChannelHandlerContext) {
        if isWaiting {
            readHeld = true
        } else {
            context.read()
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        // Graceful shutdown: a call being answered finishes first, then the connection closes.
        if event is ChannelShouldQuiesceEvent {
            switch state {
            case .reading, .answering:
                closeAfterAnswer = true
                return
            case .idle, .passing, .awaitingRouter:
                break
            }
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { releaseWriters(failing: false) }
        context.fireChannelWritabilityChanged()
    }

    func channelInactive(context: ChannelHandlerContext) {
        releaseWriters(failing: true)
        context.fireChannelInactive()
    }

    private func releaseWriters(failing: Bool) {
        let waiters = writabilityWaiters
        writabilityWaiters = []
        for waiter in waiters {
            if failing { waiter.fail(ClientGone()) } else { waiter.succeed() }
        }
    }

    struct ClientGone: Error {}

    static func path(of head: HTTPRequest) -> Substring {
        let path = head.path ?? ""
        return path[..<(path.firstIndex(of: "?") ?? path.endIndex)]
    }

    /// Runs `body` on `loop`: at once when the task is already there (the usual case, as
    /// the task prefers it), or by hopping to it. Throws only when the loop has shut down.
    static func onLoop<T: Sendable>(_ loop: any EventLoop, _ body: @escaping @Sendable () -> T) async throws -> T {
        if loop.inEventLoop { return body() }
        return try await loop.submit(body).get()
    }
}

extension StreamRelay {
    /// Relays the stream to the client through the handler, a chunk at a time.
    func relay(bound: GatewayChannelHandler.Bound, loop: any EventLoop) async {
        try? await relay(
            { chunk in
                switch try await GatewayChannelHandler.onLoop(loop, { bound.value.handler.write(chunk: chunk, context: bound.value.context) }) {
                case .written: return
                case .wait(let writable): try await writable.get()
                case .gone: throw GatewayChannelHandler.ClientGone()
                }
            },
            ended: {
                _ = try? await GatewayChannelHandler.onLoop(loop) { bound.value.handler.writeEnd(context: bound.value.context) }
            })
    }
}
