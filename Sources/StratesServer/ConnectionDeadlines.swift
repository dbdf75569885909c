import HTTPTypes
import NIOCore
import NIOHTTPTypes
import StratesGateway
import StratesWire

/// How long a client may take over the parts of a request that are its to send.
public struct ConnectionTimeouts: Sendable, Equatable {
    /// From the connection opening, or the last answer ending, to the next request's
    /// complete head: an idle keep-alive connection, or a head sent a byte at a time.
    public var idle: TimeAmount = .seconds(60)
    /// From a request's head to the end of its body: a body that trickles in.
    public var body: TimeAmount = .seconds(60)

    public init(idle: TimeAmount = .seconds(60), body: TimeAmount = .seconds(60)) {
        (self.idle, self.body) = (idle, body)
    }
}

/// Closes connections whose client holds them without sending: every connection costs a
/// socket and memory, and a client that opens many and sends a byte a minute would
/// otherwise keep them all. A request that has started but whose body stalls gets a 408
/// in its API's error format before the close; answering is the gateway's time (its
/// upstream timeouts govern it) and no deadline runs then.
///
/// Sits first among the HTTP-part handlers, so that it sees every request as it arrives,
/// including pipelined ones that the gateway holds until the answer before them ends.
final class ConnectionDeadlines: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    let timeouts: ConnectionTimeouts
    /// Requests whose head has arrived and whose answer has not ended.
    private var outstanding = 0
    /// The head of the request whose body is being read, if one is.
    private var reading: HTTPRequest?
    /// Whether the oldest outstanding request's answer has begun.
    private var answerStarted = false
    private var timer: Scheduled<Void>?

    init(timeouts: ConnectionTimeouts) {
        self.timeouts = timeouts
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { arm(timeouts.idle, context: context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        arm(timeouts.idle, context: context)
        context.fireChannelActive()
    }

    func handlerRemoved(context: ChannelHandlerContext) { disarm() }

    func channelInactive(context: ChannelHandlerContext) {
        disarm()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            outstanding += 1
            reading = head
            arm(timeouts.body, context: context)
        case .body:
            break
        case .end:
            reading = nil
            disarm()
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(let head) where head.status.kind != .informational:
            answerStarted = true
        case .head, .body:
            break
        case .end:
            outstanding = max(0, outstanding - 1)
            answerStarted = false
            if outstanding == 0, reading == nil { arm(timeouts.idle, context: context) }
        }
        context.write(data, promise: promise)
    }

    private func arm(_ delay: TimeAmount, context: ChannelHandlerContext) {
        disarm()
        let bound = NIOLoopBound((handler: self, context: context), eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleTask(in: delay) { bound.value.handler.expire(context: bound.value.context) }
    }

    private func disarm() {
        timer?.cancel()
        timer = nil
    }

    /// The client took too long: a stalled request is told so when its answer has not begun
    /// and nothing is ahead of it; then the connection closes.
    private func expire(context: ChannelHandlerContext) {
        timer = nil
        guard context.channel.isActive else { return }
        if let head = reading, outstanding == 1, !answerStarted {
            let api = GatewayChannelHandler.Endpoint.api(at: GatewayChannelHandler.path(of: head))
            let seconds = timeouts.body.nanoseconds / 1_000_000_000
            let error = GatewayError(
                status: 408, type: "request_timeout",
                message: "The request body did not arrive within \(seconds) seconds of its headers (server.body_timeout_seconds); the connection is closed.",
                code: "request_timeout"
            )
            let body = ByteBuffer(bytes: error.body(format: api?.errorFormat ?? .openAI))
            var fields = HTTPAdapters.fields(error.responseHeaders)
            fields[.contentLength] = String(body.readableBytes)
            fields[.connection] = "close"
            context.write(wrapOutboundOut(.head(HTTPResponse(status: .init(code: 408), headerFields: fields))), promise: nil)
            context.write(wrapOutboundOut(.body(body)), promise: nil)
            let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
            context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in bound.value.close(promise: nil) }
            return
        }
        context.close(promise: nil)
    }
}
