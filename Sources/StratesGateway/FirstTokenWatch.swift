import Foundation
import NIOCore
import StratesProviders
import StratesWire
import Synchronization

/// A time-to-first-token timeout for a streamed answer: a task reads the upstream's stream
/// until its first token; the attempt waits until the first token (or the end of the
/// stream) has been seen, or gives up after the deployment's `first_token_timeout_seconds`
/// — before any byte has reached the client, so another deployment can still be tried.
enum FirstTokenWatch {
    final class Signal: Sendable {
        enum State {
            case waiting(CheckedContinuation<Bool, Never>?)
            case done(Bool)
        }

        let state = Mutex(State.waiting(nil))

        /// Records the outcome: true when the first token (or the stream's end) came.
        func finish(_ arrived: Bool) {
            let waiter: CheckedContinuation<Bool, Never>? = state.withLock { state in
                guard case .waiting(let continuation) = state else { return nil }
                state = .done(arrived)
                return continuation
            }
            waiter?.resume(returning: arrived)
        }

        func wait() async -> Bool {
            await withTaskCancellationHandler {
                await withCheckedContinuation { continuation in
                    let ready: Bool? = state.withLock { state in
                        switch state {
                        case .done(let arrived): return arrived
                        case .waiting:
                            state = .waiting(continuation)
                            return nil
                        }
                    }
                    if let ready { continuation.resume(returning: ready) }
                }
            } onCancel: {
                finish(false)
            }
        }
    }

    /// The most a stream may send before its first token is seen: past it the watch hands
    /// the stream over as if the token had come (nothing is held without bound).
    static let bytesBeforeFirstToken = 1 << 20

    /// The response, once its first token came within `timeout` seconds; nil when it did not
    /// (the upstream call is then cancelled).
    ///
    /// A task reads the stream until its first token (or its end, or
    /// `bytesBeforeFirstToken`) and then hands over what it read and the rest of the stream:
    /// the relay reads the rest straight from the upstream, at the client's pace. (Before,
    /// the task passed every chunk on through an unbounded stream, so a slow client let a
    /// fast upstream's whole answer pile up in memory.)
    static func await(_ response: UpstreamResponse, api: APIKind, timeout: Double) async -> UpstreamResponse? {
        let signal = Signal()
        let body = response.body
        let reader = Task { () -> UpstreamBody.Resumed in
            var iterator = body.makeAsyncIterator()
            var meter = UsageMeter(api: api)
            var decoder = SSEDecoder()
            var chunks: [ByteBuffer] = []
            var bytes = 0
            // A stream that ends (or breaks) before any token is handed over too: the relay
            // tells the client.
            defer { signal.finish(true) }
            do {
                while let chunk = try await iterator.next() {
                    chunks.append(chunk)
                    bytes += chunk.readableBytes
                    for event in chunk.withUnsafeReadableBytes({ decoder.feed($0) }) { _ = meter.observe(event: event) }
                    if meter.sawFirstToken || bytes >= bytesBeforeFirstToken {
                        return UpstreamBody.Resumed(chunks: chunks, rest: iterator, failure: nil)
                    }
                }
                return UpstreamBody.Resumed(chunks: chunks, rest: nil, failure: nil)
            } catch {
                return UpstreamBody.Resumed(chunks: chunks, rest: nil, failure: error)
            }
        }
        let arrived = await withTaskGroup(of: Bool.self) { group in
            group.addTask { await signal.wait() }
            group.addTask {
                try? await Task.sleep(for: .milliseconds(Int64(timeout * 1000)))
                return false
            }
            let first = await group.next() ?? false
            group.cancelAll()
            return first
        }
        guard arrived else {
            reader.cancel()
            return nil
        }
        return UpstreamResponse(status: response.status, headers: response.headers, body: .resumed(await reader.value))
    }
}
