import NIOCore
import StratesWire
import Testing

@testable import StratesGateway
@testable import StratesProviders

/// The first-token watch reads a stream only until its first token, then hands the rest
/// over unread: a slow client never lets a fast upstream's answer pile up in memory.
@Suite struct FirstTokenWatchTests {
    static func chunk(_ text: String) -> ByteBuffer { ByteBuffer(string: text) }
    static let role = chunk(#"data: {"choices":[{"index":0,"delta":{"role":"assistant","content":""}}]}"# + "\n\n")
    static func token(_ index: Int) -> ByteBuffer { chunk(#"data: {"choices":[{"index":0,"delta":{"content":"w\#(index) "}}]}"# + "\n\n") }

    /// An upstream body of prepared chunks, and the object that says how far it was read.
    static func upstream(_ chunks: [ByteBuffer]) -> (UpstreamResponse, UpstreamBody.Resumed) {
        let source = UpstreamBody.Resumed(chunks: chunks, rest: nil, failure: nil)
        return (UpstreamResponse(status: 200, headers: [], body: .resumed(source)), source)
    }

    static func readAll(_ body: UpstreamBody) async throws -> [ByteBuffer] {
        var chunks: [ByteBuffer] = []
        for try await chunk in body { chunks.append(chunk) }
        return chunks
    }

    @Test func theWatchStopsAtTheFirstTokenAndTheRestIsReadLater() async throws {
        let chunks = [Self.role] + (0..<200).map(Self.token) + [Self.chunk("data: [DONE]\n\n")]
        let (response, source) = Self.upstream(chunks)
        let watched = try #require(await FirstTokenWatch.await(response, api: .chatCompletions, timeout: 2))
        // The role chunk and the first token only: the other 200 are still upstream.
        #expect(source.next == 2)
        #expect(try await Self.readAll(watched.body) == chunks)
    }

    @Test func aStreamWithoutTokensIsHandedOverPastTheLimit() async throws {
        // Keep-alive comments and nothing else: the watch stops holding them at a megabyte.
        let comment = Self.chunk(": " + String(repeating: "x", count: 64 * 1024 - 4) + "\n\n")
        let chunks = Array(repeating: comment, count: 64)
        let (response, source) = Self.upstream(chunks)
        let watched = try #require(await FirstTokenWatch.await(response, api: .chatCompletions, timeout: 2))
        #expect(source.next == FirstTokenWatch.bytesBeforeFirstToken / comment.readableBytes)
        #expect(try await Self.readAll(watched.body).count == 64)
    }

    @Test func aStreamThatEndsOrBreaksBeforeAnyTokenIsHandedOverWhole() async throws {
        let (ended, _) = Self.upstream([Self.role])
        let watched = try #require(await FirstTokenWatch.await(ended, api: .chatCompletions, timeout: 2))
        #expect(try await Self.readAll(watched.body) == [Self.role])

        struct Cut: Error {}
        let broken = UpstreamResponse(status: 200, headers: [], body: .resumed(UpstreamBody.Resumed(chunks: [Self.role], rest: nil, failure: Cut())))
        let relayed = try #require(await FirstTokenWatch.await(broken, api: .chatCompletions, timeout: 2))
        var iterator = relayed.body.makeAsyncIterator()
        #expect(try await iterator.next() == Self.role)
        await #expect(throws: Cut.self) { _ = try await iterator.next() }
    }
}
