import NIOCore
import NIOHTTP1

/// The end of an upstream connection's pipeline: writes one call's request, hands over the
/// response head, and feeds the body to its async sequence, reading from the socket only
/// while the consumer keeps up. Watches the head and read timeouts.
final class UpstreamExchangeHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundIn = HTTPClientRequestPart
    typealias OutboundOut = HTTPClientRequestPart

    typealias Producer = NIOThrowingAsyncSequenceProducer<
        ByteBuffer, any Error, NIOAsyncSequenceProducerBackPressureStrategies.HighLowWatermark, BodyDemand
    >

    enum Outcome {
        case answered(LoopHTTPClient.Response)
        /// `beforeAnyByte`: the upstream sent nothing on this connection for this call.
        case failed(ProviderError, beforeAnyByte: Bool)
    }

    let readTimeout: TimeAmount
    private var context: ChannelHandlerContext?
    private var pool: LoopPool?
    private var onHead: ((Outcome) -> Void)?
    private var source: Producer.Source?
    /// Body bytes of the current read, passed on when the read completes.
    private var pending: ByteBuffer?
    private var inExchange = false
    private var sawBytes = false
    private var keepAlive = true
    /// The consumer has enough buffered: the socket is not read until it asks for more.
    private var paused = false
    private var readRequested = false
    private var lastRead = NIODeadline.now()
    private var headDeadline: NIODeadline?
    private var headTimeout = TimeAmount.zero
    /// Which exchange on this connection the current body belongs to: a finished body's
    /// consumer may still signal after the connection has moved on to the next call.
    private var exchangeID = 0
    private var timer: Scheduled<Void>?

    init(readTimeout: TimeAmount) {
        self.readTimeout = readTimeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    /// Starts `call` on this connection; `onHead` hears once, with the head or a failure.
    func begin(_ call: LoopHTTPClient.Call, pool: LoopPool, onHead: @escaping (Outcome) -> Void) {
        guard let context, context.channel.isActive else {
            onHead(.failed(.connect("the connection closed"), beforeAnyByte: true))
            return
        }
        (self.pool, self.onHead) = (pool, onHead)
        (inExchange, sawBytes, keepAlive, paused) = (true, false, true, false)
        exchangeID &+= 1
        pending = nil
        headTimeout = call.headTimeout
        context.write(wrapOutboundOut(.head(call.head)), promise: nil)
        if call.body.readableBytes > 0 { context.write(wrapOutboundOut(.body(.byteBuffer(call.body))), promise: nil) }
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        let now = NIODeadline.now()
        lastRead = now
        headDeadline = now + call.headTimeout
        schedule(context: context, at: min(now + call.headTimeout, now + readTimeout))
        requestRead(context: context)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard inExchange else { return }
        sawBytes = true
        lastRead = .now()
        switch unwrapInboundIn(data) {
        case .head(let head):
            headDeadline = nil
            keepAlive = head.isKeepAlive
            let demand = BodyDemand(handler: NIOLoopBound(self, eventLoop: context.eventLoop), loop: context.eventLoop, exchange: exchangeID)
            let made = Producer.makeSequence(
                backPressureStrategy: .init(lowWatermark: 2, highWatermark: 16), finishOnDeinit: false, delegate: demand
            )
            source = made.source
            let answer = onHead
            onHead = nil
            answer?(.answered(LoopHTTPClient.Response(head: head, body: .loop(made.sequence))))
        case .body(var chunk):
            // Parts decoded from one read (several stream events, often) go on as one chunk
            // at the end of the read: one write to the client instead of one per event,
            // and nothing waits for bytes that have not arrived.
            if pending == nil {
                pending = chunk
            } else {
                pending!.writeBuffer(&chunk)
            }
        case .end:
            passPending()
            let source = self.source
            self.source = nil
            finishExchange(context: context, reusable: keepAlive)
            source?.finish()
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        passPending()
        readRequested = false
        if inExchange && !paused { requestRead(context: context) }
    }

    /// Passes on the body bytes of the read so far; the consumer may ask for a pause.
    private func passPending() {
        guard let pending else { return }
        self.pending = nil
        if source?.yield(pending) == .stopProducing { paused = true }
    }

    private func requestRead(context: ChannelHandlerContext) {
        guard !readRequested else { return }
        readRequested = true
        context.read()
    }

    /// The consumer wants more.
    func resumeReading(exchange: Int) {
        guard exchange == exchangeID, paused, inExchange, let context else { return }
        paused = false
        requestRead(context: context)
    }

    /// The consumer stopped before the body ended: the connection cannot be reused.
    func consumerGone(exchange: Int) {
        guard exchange == exchangeID, inExchange, let context else { return }
        source = nil
        finishExchange(context: context, reusable: false)
    }

    func channelInactive(context: ChannelHandlerContext) {
        fail(.connect(sawBytes ? "the upstream closed the connection mid-answer" : "the upstream closed the connection"), context: context)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        fail(.connect("\(error)"), context: context)
        context.close(promise: nil)
    }

    private func fail(_ error: ProviderError, context: ChannelHandlerContext) {
        guard inExchange else { return }
        // What arrived before the failure is still the answer's (and metered).
        passPending()
        endExchange()
        if let answer = onHead {
            onHead = nil
            answer(.failed(error, beforeAnyByte: !sawBytes))
        }
        if let source {
            self.source = nil
            source.finish(error)
        }
        context.close(promise: nil)
    }

    private func finishExchange(context: ChannelHandlerContext, reusable: Bool) {
        endExchange()
        pool?.release(context.channel, reusable: reusable)
    }

    private func endExchange() {
        inExchange = false
        timer?.cancel()
        timer = nil
    }

    /// One timer per exchange, for whichever comes first: the head's deadline, or a silence
    /// longer than the read timeout while the consumer is reading.
    private func schedule(context: ChannelHandlerContext, at deadline: NIODeadline) {
        timer?.cancel()
        let bound = NIOLoopBound((handler: self, context: context), eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleTask(deadline: deadline) {
            bound.value.handler.timerFired(context: bound.value.context)
        }
    }

    private func timerFired(context: ChannelHandlerContext) {
        timer = nil
        guard inExchange else { return }
        let now = NIODeadline.now()
        if let headDeadline, now >= headDeadline {
            fail(.timeout("no response head within \(Self.seconds(headTimeout)) s"), context: context)
            return
        }
        if paused { lastRead = now }
        let silentUntil = lastRead + readTimeout
        if now >= silentUntil {
            fail(.timeout("nothing read for \(Self.seconds(readTimeout)) s"), context: context)
            return
        }
        schedule(context: context, at: headDeadline.map { min($0, silentUntil) } ?? silentUntil)
    }

    static func seconds(_ amount: TimeAmount) -> String {
        let value = Double(amount.nanoseconds) / 1e9
        return value == value.rounded() ? String(Int(value)) : String(value)
    }
}

/// The body consumer's demand, passed to the connection's loop.
struct BodyDemand: NIOAsyncSequenceProducerDelegate {
    let handler: NIOLoopBound<UpstreamExchangeHandler>
    let loop: any EventLoop
    let exchange: Int

    func produceMore() {
        onLoop { $0.resumeReading(exchange: $1) }
    }

    func didTerminate() {
        onLoop { $0.consumerGone(exchange: $1) }
    }

    /// Runs `work` on the handler's loop: at once when already there, else by hopping to it.
    private func onLoop(_ work: @escaping @Sendable (UpstreamExchangeHandler, Int) -> Void) {
        let (handler, exchange) = (handler, exchange)
        if loop.inEventLoop {
            work(handler.value, exchange)
        } else {
            loop.execute { work(handler.value, exchange) }
        }
    }
}
