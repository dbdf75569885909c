import Foundation
import Logging
import NIOCore
import StratesCore
import StratesWire
import Synchronization

/// The built-in simulated provider: deterministic replies in each API's exact wire format,
/// realistic usage (input from the body size, output from a configured range, cache reads
/// when a prompt prefix repeats), configurable timing and faults. It serves sandbox mode,
/// demos, tests and benchmarks, in process or as its own server (`strates sim serve`).
public final class SimProvider: Provider {
    public let name: String
    public var kind: ProviderKind { .sim }
    let defaults: SimSettings
    let perModel: [String: SimSettings]
    let cache = SimPromptCache()
    let recordServed: Bool
    let served = Mutex<[SimServedRecord]>([])

    public init(name: String = "sim", defaults: SimSettings = SimSettings(), perModel: [String: SimSettings] = [:], recordServed: Bool = false) {
        self.name = name
        self.defaults = defaults
        self.perModel = perModel
        self.recordServed = recordServed
    }

    /// What this provider has answered in full, when `recordServed` is on: the upstream's
    /// own count, against which a ledger can be reconciled.
    public func servedRecords() -> [SimServedRecord] {
        served.withLock { $0 }
    }

    public func send(_ request: UpstreamRequest, logger: Logger) async throws -> UpstreamResponse {
        var settings = perModel[request.model] ?? defaults
        // Any key may send these headers: each is held to `SimSettings.headerBounds`.
        func knob(_ name: String, _ range: ClosedRange<Int>) -> Int? {
            request.header(name).flatMap { Int($0.trimmingCharacters(in: .whitespaces)) }.map { min(max($0, range.lowerBound), range.upperBound) }
        }
        let delays = 0...SimSettings.maxHeaderDelayMs
        if let value = knob("x-sim-latency-ms", delays) { settings.latencyMs = value }
        if let value = knob("x-sim-ttft-ms", delays) { settings.timeToFirstTokenMs = value }
        if let value = knob("x-sim-tokens-per-second", 0...1_000_000) { settings.tokensPerSecond = value }
        if let value = knob("x-sim-hang-ms", delays) { settings.hangMs = value }
        if let value = knob("x-sim-output-tokens", 1...SimSettings.maxHeaderOutputTokens) { settings.forcedOutputTokens = value }
        if let faultName = request.header("x-sim-fault") {
            settings.fault = SimFault(rawValue: faultName.lowercased())
        }
        // A deployment's own timeout on the response head, as an HTTP client would enforce it.
        let limitMs = request.timeout.map { Int($0 * 1000) }
        let headMs = settings.latencyMs + (settings.fault == .timeout ? settings.hangMs : 0)
        if let limitMs, headMs > limitMs {
            try await Task.sleep(for: .milliseconds(limitMs))
            throw ProviderError.timeout("no response from \(name) within \(limitMs) ms")
        }
        if settings.latencyMs > 0 { try await Task.sleep(for: .milliseconds(settings.latencyMs)) }

        let api = request.api
        switch settings.fault {
        case .rateLimited:
            return errorResponse(api: api, status: 429, message: "Simulated rate limit. Retry after 1 second.", extraHeaders: [("retry-after", "1")])
        case .serverError: return errorResponse(api: api, status: 500, message: "Simulated internal server error.")
        case .unavailable: return errorResponse(api: api, status: 503, message: "Simulated overload.")
        case .timeout:
            try await Task.sleep(for: .milliseconds(settings.hangMs))
            return errorResponse(api: api, status: 504, message: "Simulated timeout.")
        default: break
        }

        let summary: RequestSummary
        do {
            summary = try RequestSummary.inspect(request.body, api: api)
        } catch {
            return errorResponse(api: api, status: 400, message: error.message)
        }
        var reply = SimReply(request: request, summary: summary, settings: settings, cache: cache)
        let events = reply.render()
        let faultCut = settings.fault == .cut
        let malformed = settings.fault == .malformed
        if recordServed, !faultCut, !malformed {
            let record = SimServedRecord(requestID: request.requestID, responseID: reply.responseID, api: api, model: request.model, usage: reply.usage)
            served.withLock { $0.append(record) }
        }
        let contentType = request.stream ? "text/event-stream" : "application/json"
        var headers: [(name: String, value: String)] = [("content-type", contentType), ("x-request-id", "req_" + reply.responseID)]
        if request.stream { headers.append(("cache-control", "no-cache")) }
        var chunks = malformed ? Self.malform(events, stream: request.stream) : events
        if faultCut, !request.stream, let whole = chunks.first {
            // A whole answer is one chunk: cut it half-way through its bytes.
            chunks = [Array(whole.prefix(whole.count / 2)), Array(whole.dropFirst(whole.count / 2))]
        }
        let stream = SimStream(
            chunks: chunks,
            firstContentIndex: reply.firstContentIndex,
            ttft: .milliseconds(settings.timeToFirstTokenMs),
            perToken: settings.tokensPerSecond > 0 ? .nanoseconds(1_000_000_000 / Int64(settings.tokensPerSecond)) : .zero,
            cutAfter: faultCut ? max(1, chunks.count / 2) : nil
        )
        return UpstreamResponse(status: 200, headers: headers, body: .generated(stream))
    }

    static func malform(_ events: [[UInt8]], stream: Bool) -> [[UInt8]] {
        guard stream else { return [Array(#"{"id": "broken", "choices": [ {"mess"#.utf8)] }
        var copy = events
        copy.insert(Array("data: {\"type\": \"content_block_delta\", \"broken\n\n".utf8), at: min(1, copy.count))
        return copy
    }

    func errorResponse(api: APIKind, status: Int, message: String, extraHeaders: [(name: String, value: String)] = []) -> UpstreamResponse {
        let body = ErrorBody.render(format: api.errorFormat, status: status, type: nil, message: message)
        return UpstreamResponse(status: status, headers: [("content-type", "application/json")] + extraHeaders, body: .bytes(ByteBuffer(bytes: body)))
    }
}

/// One answer the simulated provider gave in full.
public struct SimServedRecord: Sendable, Codable, Equatable {
    public var requestID: String
    public var responseID: String
    public var api: APIKind
    public var model: String
    public var usage: Usage
}

/// Remembers prompt prefixes (in 1 KiB steps) so a repeated prefix is reported as a cache read.
final class SimPromptCache: Sendable {
    static let block = 1024
    static let capacity = 500_000
    private let seen = Mutex<Set<UInt64>>([])

    /// Returns how many leading bytes of `body` were seen before, and remembers them all.
    func lookupAndStore(_ body: [UInt8]) -> Int {
        var hashes: [UInt64] = []
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for (offset, byte) in body.enumerated() {
            hash ^= UInt64(byte)
            hash &*= 0x100_0000_01B3
            if (offset + 1) % Self.block == 0 { hashes.append(hash) }
        }
        return seen.withLock { set in
            var cached = 0
            for (index, value) in hashes.enumerated() {
                if set.contains(value) { cached = (index + 1) * Self.block } else { break }
            }
            if set.count + hashes.count > Self.capacity { set.removeAll(keepingCapacity: true) }
            set.formUnion(hashes)
            return cached
        }
    }
}

/// The simulated body, chunk by chunk, paced like a real model.
struct SimStream: Sendable {
    var chunks: [[UInt8]]
    var firstContentIndex: Int
    var ttft: Duration
    var perToken: Duration
    var cutAfter: Int?
    var index = 0

    mutating func next() async throws -> ByteBuffer? {
        guard index < chunks.count else { return nil }
        if let cutAfter, index >= cutAfter {
            throw ProviderError.other("simulated stream cut")
        }
        if index == firstContentIndex, ttft > .zero {
            try await Task.sleep(for: ttft)
        } else if index > firstContentIndex, perToken > .zero {
            try await Task.sleep(for: perToken)
        }
        defer { index += 1 }
        return ByteBuffer(bytes: chunks[index])
    }
}
