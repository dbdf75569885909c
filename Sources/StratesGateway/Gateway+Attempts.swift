import Foundation
import Logging
import NIOCore
import StratesCore
import StratesProviders
import StratesWire

/// One try of a deployment that failed, and how.
struct FailedAttempt: Sendable {
    /// `provider/model`.
    let deployment: String
    let failure: AttemptFailure

    var text: String { "\(deployment): \(failure.text)" }
}

extension [FailedAttempt] {
    /// How the ledger notes them: nil for none.
    var ledgerText: String? { isEmpty ? nil : map(\.text).joined(separator: "; ") }
}

/// What the deployments tried gave back: the answer that stands, how it is carried back to
/// the client, and the tries that failed before it.
struct Delivery: Sendable {
    var response: UpstreamResponse
    var translation: Translation
    var failures: [FailedAttempt]
}

extension Gateway {
    /// Sends the request to the plan's deployments in order, each tried `1 + route.retries`
    /// times, until one answers with anything but a retryable failure (429, 5xx, a timeout,
    /// a broken connection); the last attempt's answer or error stands. All of this happens
    /// before a byte reaches the client. Waits with backoff between tries of the same
    /// deployment (or its `retry-after`, when short), none before moving to the next.
    /// Each deployment's translation is chosen once, from its provider's kind, and handed to
    /// `upstream` to build its request. Every failed attempt is noted on the record and in
    /// the deployment's health.
    func attempt(
        _ plan: [RoutedDeployment], retries: Int, client api: APIKind, record: inout RequestRecord, logger: Logger,
        upstream: (RoutedDeployment, Translation) throws -> UpstreamRequest
    ) async throws -> Delivery {
        let tries = plan.flatMap { target in (0...max(0, retries)).map { (target: target, retry: $0) } }
        var failures: [FailedAttempt] = []
        var skipping: String?
        var random = SystemRandomNumberGenerator()
        var position = 0
        while position < tries.count {
            let target = tries[position].target
            record.provider = target.provider.name
            record.servedModel = target.upstreamModel
            let translation = Translation(client: api, provider: target.provider.kind) ?? .none
            let started = ContinuousClock.now
            let failure: AttemptFailure
            /// The failed try's answer (its refusal) or error: what the client gets if it is the last.
            let outcome: Result<UpstreamResponse, ProviderError>
            let outgoing = try upstream(target, translation)
            do {
                var answer = try await target.provider.send(outgoing, logger: logger)
                let latency = Double((ContinuousClock.now - started).milliseconds)
                if answer.status < 300, outgoing.stream, let limit = target.deployment.firstTokenTimeoutSeconds {
                    // Nothing has reached the client yet: a stream slow to its first token can still move on.
                    if let watched = await FirstTokenWatch.await(answer, api: outgoing.api, timeout: limit) {
                        answer = watched
                    } else {
                        throw ProviderError.firstTokenTimeout("no first token from \(target.name) within \(limit) s")
                    }
                }
                let retryAfter = answer.header("retry-after").flatMap(Double.init)
                var statusFailure = answer.status >= 400 ? AttemptFailure(status: answer.status, retryAfter: retryAfter) : nil
                var answered = answer
                if answer.status == 400 || answer.status == 413, tries[(position + 1)...].contains(where: { $0.target.name != target.name }) {
                    // Read the refusal: a request too long for this model may fit a larger one.
                    let body = (try? await answer.body.collect(upTo: 1 << 20)) ?? ByteBuffer()
                    if AttemptFailure.isContextOverflow(Array(body.readableBytesView)) { statusFailure = .contextLength }
                    answered = UpstreamResponse(status: answer.status, headers: answer.headers, body: .bytes(body))
                }
                guard let statusFailure, statusFailure.isRetryable else {
                    if statusFailure == nil { health.succeeded(target.name, latencyMs: latency) }
                    record.failedAttempts = failures.ledgerText
                    return Delivery(response: answered, translation: translation, failures: failures)
                }
                failure = statusFailure
                outcome = .success(answered)
            } catch let error as ProviderError {
                failure = error.isFirstTokenTimeout ? .firstTokenTimeout : error.isTimeout ? .timeout : .connection
                outcome = .failure(error)
            }
            health.failed(target.name, failure, at: Date())
            failures.append(FailedAttempt(deployment: target.name, failure: failure))
            record.failedAttempts = failures.ledgerText
            guard let next = try await step(after: failure, at: position, in: tries, skipping: &skipping, random: &random) else {
                switch outcome {
                case .success(let refusal):
                    // The last try: its refusal goes back to the client as the provider sent it.
                    failures.removeLast()
                    record.failedAttempts = failures.ledgerText
                    return Delivery(response: refusal, translation: translation, failures: failures)
                case .failure(let error):
                    throw error
                }
            }
            if case .success(let refusal) = outcome {
                // Read what is left of the refusal so that its connection can be reused.
                _ = try? await refusal.body.collect(upTo: 1 << 20)
            }
            logger.notice("attempt failed, trying again", metadata: ["deployment": "\(target.name)", "failure": "\(failure.text)"])
            metrics.recordUpstreamError(provider: target.provider.name, status: answerStatus(failure))
            position = next
        }
        throw ProviderError.other("no deployment could be tried")
    }

    private func answerStatus(_ failure: AttemptFailure) -> Int {
        switch failure {
        case .rateLimited: 429
        case .serverError(let status), .clientError(let status): status
        case .timeout, .firstTokenTimeout: 504
        case .connection: 502
        case .contextLength: 400
        }
    }

    /// Where to go after a failed try at `position`: the index of the next try (after
    /// waiting, when it is the same deployment again), or nil when this failure stands —
    /// nothing is left to try, or only this deployment again after a `retry-after` too long
    /// to wait for.
    private func step(
        after failure: AttemptFailure, at position: Int, in tries: [(target: RoutedDeployment, retry: Int)], skipping: inout String?,
        random: inout SystemRandomNumberGenerator
    ) async throws -> Int? {
        let current = tries[position]
        if failure == .contextLength {
            // Only a deployment that may hold more can help; this one's retries cannot.
            skipping = current.target.name
            return tries.indices.first {
                $0 > position && tries[$0].target.name != current.target.name && tries[$0].target.deployment.mayHoldMore(than: current.target.deployment)
            }
        }
        guard let next = tries.indices.first(where: { $0 > position && tries[$0].target.name != skipping }) else { return nil }
        guard tries[next].target.name == current.target.name else { return next }
        if let delay = backoff.delay(before: current.retry, after: failure, random: &random) {
            if delay > 0 { try await Task.sleep(for: .milliseconds(Int64(delay * 1000))) }
            return next
        }
        // Too long to wait here: move on to another deployment, if there is one.
        skipping = current.target.name
        return tries.indices.first { $0 > position && tries[$0].target.name != current.target.name }
    }
}
