import AsyncHTTPClient
import NIOCore

/// A response body as it arrives: from an HTTP upstream, generated in process by the
/// simulated provider, or fixed bytes. One concrete sequence type, so the gateway's hot
/// path needs no extra tasks or type erasure per chunk.
public struct UpstreamBody: AsyncSequence, Sendable {
    public typealias Element = ByteBuffer

    enum Source: Sendable {
        case http(HTTPClientResponse.Body)
        case generated(SimStream)
        case bytes(ByteBuffer)
        case relayed(AsyncThrowingStream<ByteBuffer, any Error>)
    }

    let source: Source

    public static func bytes(_ buffer: ByteBuffer) -> UpstreamBody { UpstreamBody(source: .bytes(buffer)) }
    static func http(_ body: HTTPClientResponse.Body) -> UpstreamBody { UpstreamBody(source: .http(body)) }
    static func generated(_ stream: SimStream) -> UpstreamBody { UpstreamBody(source: .generated(stream)) }
    /// Chunks passed on by a task that read them from another body (see the first-token watch).
    public static func relayed(_ stream: AsyncThrowingStream<ByteBuffer, any Error>) -> UpstreamBody { UpstreamBody(source: .relayed(stream)) }

    public struct AsyncIterator: AsyncIteratorProtocol {
        enum State {
            case http(HTTPClientResponse.Body.AsyncIterator)
            case generated(SimStream)
            case bytes(ByteBuffer?)
            case relayed(AsyncThrowingStream<ByteBuffer, any Error>.AsyncIterator)
        }

        var state: State

        public mutating func next() async throws -> ByteBuffer? {
            switch state {
            case .http(var iterator):
                let chunk = try await iterator.next()
                state = .http(iterator)
                return chunk
            case .generated(var stream):
                let chunk = try await stream.next()
                state = .generated(stream)
                return chunk
            case .bytes(let buffer):
                state = .bytes(nil)
                return buffer
            case .relayed(var iterator):
                let chunk = try await iterator.next()
                state = .relayed(iterator)
                return chunk
            }
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        switch source {
        case .http(let body): return AsyncIterator(state: .http(body.makeAsyncIterator()))
        case .generated(let stream): return AsyncIterator(state: .generated(stream))
        case .bytes(let buffer): return AsyncIterator(state: .bytes(buffer))
        case .relayed(let stream): return AsyncIterator(state: .relayed(stream.makeAsyncIterator()))
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
