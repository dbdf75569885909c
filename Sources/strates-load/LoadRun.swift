import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// One load run on one event loop: every connection, counter and sample lives on that
/// loop, so nothing is locked and the generator costs one core at most, like `wrk -t1`.
final class LoadRun: @unchecked Sendable {
    let plan: LoadPlan
    let loop: EventLoop
    let requestHead: HTTPRequestHead
    let bodyBuffer: ByteBuffer
    let finished: EventLoopPromise<Void>

    var startedAt = NIODeadline.now()
    var warmupEnd = NIODeadline.now()
    var measureEnd = NIODeadline.now()
    var openConnections = 0
    var pacedStarts = 0
    var stats = LoadStats()

    private init(plan: LoadPlan, loop: EventLoop) {
        self.plan = plan
        self.loop = loop
        var headers = HTTPHeaders()
        headers.add(name: "host", value: "\(plan.target.host):\(plan.target.port)")
        for (name, value) in plan.headers { headers.add(name: name, value: value) }
        if !headers.contains(name: "content-type") { headers.add(name: "content-type", value: "application/json") }
        headers.replaceOrAdd(name: "content-length", value: String(plan.body.count))
        requestHead = HTTPRequestHead(version: .http1_1, method: .POST, uri: plan.target.path, headers: headers)
        bodyBuffer = ByteBuffer(bytes: plan.body)
        finished = loop.makePromise()
    }

    static func execute(_ plan: LoadPlan) throws -> LoadReport {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer { try? group.syncShutdownGracefully() }
        let run = LoadRun(plan: plan, loop: group.next())
        try run.loop.submit {
            let now = NIODeadline.now()
            run.startedAt = now
            run.warmupEnd = now + .nanoseconds(Int64(plan.warmup * 1e9))
            run.measureEnd = plan.duration > 0 ? run.warmupEnd + .nanoseconds(Int64(plan.duration * 1e9)) : .distantFuture
            run.openConnections = plan.concurrency
            for _ in 0..<plan.concurrency { run.connect() }
        }.wait()
        try run.finished.futureResult.wait()
        return try run.loop.submit { run.report() }.wait()
    }

    /// Whether a connection that just became free may send another request.
    func mayStart(at now: NIODeadline) -> Bool {
        if now >= measureEnd { return false }
        if let limit = plan.maxRequests, now >= warmupEnd, stats.measuredStarts >= limit { return false }
        return true
    }

    /// Opens one connection; `openConnections` already counts it.
    func connect() {
        let run = self
        ClientBootstrap(group: loop)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connectTimeout(.seconds(10))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(LoadConnection(run: run))
                }
            }
            .connect(host: plan.target.host, port: plan.target.port)
            .whenFailure { _ in
                run.stats.count(error: "connect")
                // Retried only until --timeout passes without a completed response, so an
                // absent target cannot hang the run.
                let lastProgress = run.stats.lastEnd ?? run.startedAt
                let stalled = NIODeadline.now() - lastProgress > .nanoseconds(Int64(run.plan.timeout * 1e9))
                run.connectionClosed(retry: !stalled, after: .milliseconds(50))
            }
    }

    /// With `--rate`, how long the next request must wait for its slot; reserves the slot.
    func pacingDelay() -> TimeAmount? {
        guard let rate = plan.rate, rate > 0 else { return nil }
        let slot = startedAt + .nanoseconds(Int64(Double(pacedStarts) / rate * 1e9))
        pacedStarts += 1
        let now = NIODeadline.now()
        return slot > now ? slot - now : nil
    }

    /// A connection is gone; open another in its place while the run still wants requests.
    func connectionClosed(retry: Bool, after delay: TimeAmount = .zero) {
        if retry, mayStart(at: .now()) {
            loop.scheduleTask(in: delay) { self.connect() }
            return
        }
        openConnections -= 1
        if openConnections == 0 { finished.succeed(()) }
    }

    func report() -> LoadReport {
        // Like wrk: a run measures what completes inside its window, whenever it started.
        let end = plan.duration > 0 ? measureEnd : (stats.lastEnd ?? .now())
        let measuredSeconds = Double((end - max(warmupEnd, startedAt)).nanoseconds) / 1e9
        return LoadReport(plan: plan, stats: stats, measuredSeconds: max(measuredSeconds, 1e-9))
    }
}

/// One keep-alive connection: sends a request, times its answer, sends the next.
final class LoadConnection: ChannelInboundHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart

    let run: LoadRun
    var inFlight = false
    var sentAt = NIODeadline.now()
    var firstTokenAt: NIODeadline?
    var status = 0
    var marker: MarkerSearch?
    var timeout: Scheduled<Void>?

    init(run: LoadRun) { self.run = run }

    func channelActive(context: ChannelHandlerContext) {
        sendNext(context: context)
    }

    func sendNext(context: ChannelHandlerContext) {
        guard run.mayStart(at: .now()) else {
            context.close(promise: nil)
            return
        }
        if let delay = run.pacingDelay() {
            // Paced load (--rate): wait for this request's slot, then look again.
            context.eventLoop.assumeIsolated().scheduleTask(in: delay) {
                guard context.channel.isActive else { return }
                guard self.run.mayStart(at: .now()) else { return context.close(promise: nil) }
                self.send(context: context)
            }
            return
        }
        send(context: context)
    }

    func send(context: ChannelHandlerContext) {
        let now = NIODeadline.now()
        inFlight = true
        if now >= run.warmupEnd { run.stats.measuredStarts += 1 } else { run.stats.warmupRequests += 1 }
        sentAt = now
        firstTokenAt = nil
        status = 0
        marker = run.plan.firstTokenMarker.map(MarkerSearch.init)
        let channel = context.channel
        timeout = context.eventLoop.assumeIsolated().scheduleTask(in: .nanoseconds(Int64(run.plan.timeout * 1e9))) {
            guard self.inFlight else { return }
            self.inFlight = false
            self.run.stats.count(error: "timeout")
            channel.close(promise: nil)
        }
        context.write(wrapOutboundOut(.head(run.requestHead)), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(run.bodyBuffer))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            status = Int(head.status.code)
        case .body(let buffer):
            run.stats.bytesReceived += buffer.readableBytes
            guard firstTokenAt == nil else { return }
            if var search = marker {
                if search.feed(buffer.readableBytesView) { firstTokenAt = .now() }
                marker = search
            } else {
                firstTokenAt = .now()
            }
        case .end:
            timeout?.cancel()
            guard inFlight else { return }
            inFlight = false
            let now = NIODeadline.now()
            run.stats.lastEnd = now
            if (200..<300).contains(status) {
                // Counted when it completes inside the measured window (a slow target's
                // warm-up requests may all still be running when the window opens).
                if now >= run.warmupEnd, now <= run.measureEnd {
                    run.stats.latencies.append((now - sentAt).nanoseconds)
                    if let firstTokenAt { run.stats.firstTokens.append((firstTokenAt - sentAt).nanoseconds) }
                }
                run.stats.succeeded += 1
            } else {
                run.stats.count(error: "status_\(status)")
            }
            sendNext(context: context)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        timeout?.cancel()
        let wasInFlight = inFlight
        if inFlight {
            inFlight = false
            run.stats.count(error: "connection_closed")
        }
        run.connectionClosed(retry: wasInFlight || run.mayStart(at: .now()))
    }
}

/// Finds the first token in a body that arrives in pieces: the marker followed by a byte
/// other than `"`, i.e. the marker opens a non-empty string (`"content":"` with text after
/// it, not the empty content of a role-only opening chunk).
struct MarkerSearch {
    let pattern: [UInt8]
    var carry: [UInt8] = []

    init(_ pattern: [UInt8]) { self.pattern = pattern }

    mutating func feed(_ bytes: ByteBufferView) -> Bool {
        guard !pattern.isEmpty else { return true }
        var window = carry
        window.append(contentsOf: bytes)
        var index = 0
        while index + pattern.count < window.count {
            if window[index] == pattern[0], window[index..<(index + pattern.count)].elementsEqual(pattern),
                window[index + pattern.count] != UInt8(ascii: "\"")
            {
                return true
            }
            index += 1
        }
        // Keep enough to find a marker split across pieces, with the byte that follows it.
        carry = Array(window.suffix(pattern.count))
        return false
    }
}
