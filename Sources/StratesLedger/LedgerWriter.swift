import Foundation
import Logging
import ServiceLifecycle
import StratesCore
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Records requests durably without a disk flush on the hot path: journal lines first
/// (see `LedgerJournal`), then batched inserts into the store by a background service.
public final class LedgerWriter: Service, Sendable {
    struct State {
        var fd: Int32
        var segment: Int
        var segmentBytes = 0
        var inFlight: [String: [UInt8]] = [:]
        var pending: [RequestRecord] = []
        var closedSegments: [Int] = []
    }

    let store: any RequestStore
    let lock: JournalLock
    let segments: JournalSegments
    let state: Mutex<State>
    let flushInterval: Duration
    let batchSize: Int
    let logger: Logger
    let wakeUp: AsyncStream<Void>.Continuation
    let wakeUps: AsyncStream<Void>
    /// One flush at a time: a segment may only be deleted once every record written
    /// before it closed is committed, which overlapping flushes could not promise.
    let flushLock = AsyncLock()

    /// Opens the journal its lock guards. Call `recover` first so that what an earlier
    /// process left there is in the store.
    public init(store: any RequestStore, lock: JournalLock, flushInterval: Duration = .milliseconds(200), batchSize: Int = 512, logger: Logger) throws {
        self.store = store
        self.lock = lock
        self.segments = try JournalSegments(directory: lock.directory)
        let next = (segments.existing().last ?? 0) + 1
        self.state = Mutex(State(fd: try segments.open(next), segment: next))
        self.flushInterval = flushInterval
        self.batchSize = batchSize
        self.logger = logger
        (wakeUps, wakeUp) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    deinit {
        state.withLock { _ = close($0.fd) }
    }

    /// Replays a journal left by an earlier process into the store: ended requests as
    /// recorded, begun-but-never-ended requests as `interrupted` with estimated usage.
    /// Idempotent: the store ignores ids it already holds. Returns (ended, interrupted).
    @discardableResult
    public static func recover(
        store: any RequestStore, lock: JournalLock, logger: Logger,
        price: @Sendable (RequestRecord) -> NanoUSD?
    ) async throws -> (ended: Int, interrupted: Int) {
        let segments = try JournalSegments(directory: lock.directory)
        let numbers = segments.existing()
        guard !numbers.isEmpty else { return (0, 0) }
        var begun: [String: RequestRecord] = [:]
        var order: [String] = []
        var ended: [String: RequestRecord] = [:]
        for entry in segments.readAll() {
            switch entry.kind {
            case .begin:
                if begun[entry.record.id] == nil { order.append(entry.record.id) }
                begun[entry.record.id] = entry.record
            case .end:
                if begun[entry.record.id] == nil && ended[entry.record.id] == nil { order.append(entry.record.id) }
                ended[entry.record.id] = entry.record
            }
        }
        var records: [RequestRecord] = []
        var interrupted = 0
        for id in order {
            if let done = ended[id] {
                records.append(done)
            } else if var record = begun[id] {
                record.status = .interrupted
                record.usage = Usage(input: record.inputEstimate)
                record.usageEstimated = true
                record.error = "the gateway stopped while this request was in flight"
                record.cost = price(record)
                records.append(record)
                interrupted += 1
            }
        }
        for start in stride(from: 0, to: records.count, by: 1_000) {
            try await store.insert(Array(records[start..<min(records.count, start + 1_000)]))
        }
        for number in numbers { segments.remove(number) }
        logger.notice("ledger recovered from journal", metadata: ["ended": "\(records.count - interrupted)", "interrupted": "\(interrupted)"])
        return (records.count - interrupted, interrupted)
    }

    /// Notes that a request is about to be sent upstream. Durable once this returns.
    public func begin(_ record: RequestRecord) throws {
        let line = Self.line(.begin, record)
        try state.withLock { state in
            try JournalSegments.writeAll(state.fd, line)
            state.segmentBytes += line.count
            state.inFlight[record.id] = line
        }
    }

    /// Records how a request ended. Durable once this returns; in the store after the next flush.
    public func finish(_ record: RequestRecord) throws {
        let line = Self.line(.end, record)
        let full = try state.withLock { state in
            try JournalSegments.writeAll(state.fd, line)
            state.segmentBytes += line.count
            state.inFlight.removeValue(forKey: record.id)
            state.pending.append(record)
            return state.pending.count >= batchSize
        }
        if full { wakeUp.yield() }
    }

    static func line(_ kind: JournalEntry.Kind, _ record: RequestRecord) -> [UInt8] {
        JournalLineEncoder.line(kind, record)
    }

    /// Moves ended requests into the store, then drops journal segments no longer needed.
    public func flush() async {
        await flushLock.lock()
        defer { flushLock.unlock() }
        let (batch, closed): ([RequestRecord], [Int]) = state.withLock { state in
            let batch = state.pending
            state.pending.removeAll(keepingCapacity: true)
            if state.segmentBytes > 0 {
                // Start a new segment holding only what is still in flight.
                if let fd = try? segments.open(state.segment + 1) {
                    var ok = true
                    for line in state.inFlight.values where ok {
                        ok = (try? JournalSegments.writeAll(fd, line)) != nil
                    }
                    if ok {
                        close(state.fd)
                        state.closedSegments.append(state.segment)
                        state.fd = fd
                        state.segment += 1
                        state.segmentBytes = state.inFlight.values.reduce(0) { $0 + $1.count }
                    } else {
                        close(fd)
                        segments.remove(state.segment + 1)
                    }
                }
            }
            return (batch, state.closedSegments)
        }
        do {
            try await store.insert(batch)
            state.withLock { state in state.closedSegments.removeAll { closed.contains($0) } }
            for number in closed { segments.remove(number) }
        } catch {
            logger.error("ledger flush failed; will retry", metadata: ["error": "\(error)", "records": "\(batch.count)"])
            state.withLock { state in state.pending.insert(contentsOf: batch, at: 0) }
        }
    }

    public var pendingCount: Int { state.withLock { $0.pending.count } }
    public var inFlightCount: Int { state.withLock { $0.inFlight.count } }

    /// Flushes every `flushInterval` (or sooner when a batch fills) until graceful
    /// shutdown, then flushes what remains.
    public func run() async throws {
        let ticker = Task { [wakeUp, flushInterval] in
            while !Task.isCancelled {
                try? await Task.sleep(for: flushInterval)
                wakeUp.yield()
            }
        }
        defer { ticker.cancel() }
        await cancelWhenGracefulShutdown {
            for await _ in self.wakeUps {
                if Task.isCancelled { break }
                await self.flush()
            }
        }
        await flush()
    }
}
