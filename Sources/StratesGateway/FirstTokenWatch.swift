import Foundation
import NIOCore
import StratesProviders
import StratesWire
import Synchronization

/// A time-to-first-token timeout for a streamed answer: a task reads the upstream's stream
/// and passes every chunk on; the attempt waits until the first token (or the end of the
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

    /// The response with a body that passes the upstream's chunks on, once its first token
    /// came within `timeout` seconds; nil when it did not (the upstream call is then cancelled).
    static func await(_ response: UpstreamResponse, api: APIKind, timeout: Double) async -> UpstreamResponse? {
        let signal = Signal()
        let (stream, continuation) = AsyncThrowingStream<ByteBuffer, any Error>.makeStream()
        let body = response.body
        let reader = Task {
            var meter = UsageMeter(api: api)
            var decoder = SSEDecoder()
            do {
                for try await chunk in body {
                    if !meter.sawFirstToken {
                        for event in chunk.withUnsafeReadableBytes({ decoder.feed($0) }) { _ = meter.observe(event: event) }
                        if meter.sawFirstToken { signal.finish(true) }
                    }
                    continuation.yield(chunk)
                    try Task.checkCancellation()
                }
                continuation.finish()
            } catch {
                continuation.finish(throwing: error)
            }
            // A stream that ended (or broke) before any token: let the relay tell the client.
            signal.finish(true)
        }
        continuation.onTermination = { _ in reader.cancel() }
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
            continuation.finish()
            return nil
        }
        return UpstreamResponse(status: response.status, headers: response.headers, body: .relayed(stream))
    }
}
