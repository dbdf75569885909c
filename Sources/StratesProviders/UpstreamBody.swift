import NIOCore

/// A response body as it arrives: from an HTTP upstream, generated in process by the
/// simulated provider, or fixed bytes. One concrete sequence type, so the gateway's hot
/// path needs no extra tasks or type erasure per chunk.
public struct UpstreamBody: AsyncSequence, Sendable {
    public typealias Element = ByteBuffer

    enum Source: Sendable {
        case loop(UpstreamExchangeHandler.Producer)
        case generated(SimStream)
        case bytes(ByteBuffer)
        case resumed(Resumed)
    }

    /// A body that was read up to some point by someone else (the first-token watch): the
    /// chunks read so far, then the rest straight from the upstream (read at the pace the
    /// client takes it, so nothing piles up in memory), or the error that ended it.
    public final class Resumed: @unchecked Sendable {
        // One reader at a time by construction: the watch until it hands over, then the relay.
        var chunks: [ByteBuffer]
        var next = 0
        var rest: UpstreamBody.AsyncIterator?
        var failure: (any Error)?

        public init(chunks: [ByteBuffer], rest: UpstreamBody.AsyncIterator?, failure: (any Error)?) {
            self.chunks = chunks
            self.rest = rest
            self.failure = failure
        }

        func read() async throws -> ByteBuffer? {
            if next < chunks.count {
                defer { next += 1 }
                return chunks[next]
            }
            if !chunks.isEmpty {
                // Let the chunks read early go once they are passed on.
                chunks = []
                next = 0
            }
            if let failure {
                self.failure = nil
                throw failure
            }
            guard var iterator = rest else { return nil }
            let chunk = try await iterator.next()
            rest = chunk == nil ? nil : iterator
            return chunk
        }
    }

    let source: Source

    public static func bytes(_ buffer: ByteBuffer) -> UpstreamBody { UpstreamBody(source: .bytes(buffer)) }
    static func loop(_ body: UpstreamExchangeHandler.Producer) -> UpstreamBody { UpstreamBody(source: .loop(body)) }
    static func generated(_ stream: SimStream) -> UpstreamBody { UpstreamBody(source: .generated(stream)) }
    /// Chunks already read, then the rest of the body they were read from.
    public static func resumed(_ body: Resumed) -> UpstreamBody { UpstreamBody(source: .resumed(body)) }

    public struct AsyncIterator: AsyncIteratorProtocol {
        enum State {
            case loop(UpstreamExchangeHandler.Producer.AsyncIterator)
            case generated(SimStream)
            case bytes(ByteBuffer?)
            case resumed(Resumed)
        }

        var state: State

        public mutating func next() async throws -> ByteBuffer? {
            switch state {
            case .loop(let iterator):
                // A class underneath: advancing it needs no write-back.
                return try await iterator.next()
            case .generated(var stream):
                let chunk = try await stream.next()
                state = .generated(stream)
                return chunk
            case .bytes(let buffer):
                state = .bytes(nil)
                return buffer
            case .resumed(let body):
                return try await body.read()
            }
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        switch source {
        case .loop(let body): return AsyncIterator(state: .loop(body.makeAsyncIterator()))
        case .generated(let stream): return AsyncIterator(state: .generated(stream))
        case .bytes(let buffer): return AsyncIterator(state: .bytes(buffer))
        case .resumed(let body): return AsyncIterator(state: .resumed(body))
        }
    }

    /// Reads the whole body, failing past `limit` bytes.
    public func collect(upTo limit: Int) async throws -> ByteBuffer {
        var result = ByteBuffer()
        for try await var chunk in self {
            guard result.readableBytes + chunk.readableBytes <= limit else {
                throw ProviderError.other("the provider's response is larger than \(limit) bytes")
            }
            result.writeBuffer(&chunk)
        }
        return result
    }
}
