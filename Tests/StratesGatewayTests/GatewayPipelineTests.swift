import Foundation
import Logging
import Metrics
import NIOCore
import StratesTestSupport
import Synchronization
import Testing

@testable import StratesCore
@testable import StratesGateway
@testable import StratesLedger
@testable import StratesLedgerSQLite
@testable import StratesProviders
@testable import StratesWire

/// The pipeline without HTTP: a gateway over the simulated provider, an in-memory ledger
/// and a real journal in a temporary directory.
struct PipelineHarness {
    let folder = TemporaryFolder(prefix: "strates-pipeline-")
    let ledger: SQLiteLedger
    let writer: LedgerWriter
    let gateway: Gateway
    let secret: String

    init(
        routes: [ModelRoute] = [ModelRoute(pattern: "*", provider: "sim")], providers: [any Provider] = [SimProvider()],
        backoff: RetryBackoff = RetryBackoff(), pricing: Pricing = Pricing(PriceCatalog.builtIn()), notices: (any NoticeSink)? = nil,
        runs: RunWatch? = nil, budgets: [Budget] = []
    ) async throws {
        ledger = try SQLiteLedger(inMemory: ())
        let lock = try JournalLock(directory: folder.path)
        writer = try LedgerWriter(store: ledger, lock: lock, logger: Logger(label: "test"))
        let (secret, key) = KeySecrets.makeKey(
            name: nil, role: .gateway, organization: "default", team: "t", member: "m", service: nil, environment: .sandbox, workflow: nil, expiresAt: nil)
        try await ledger.insert(key)
        self.secret = secret
        var guardian: BudgetGuard?
        if !budgets.isEmpty {
            for budget in budgets { try await ledger.save(budget) }
            guardian = BudgetGuard(store: ledger, counters: InProcessBudgetCounters(store: ledger), sink: BudgetGuardAlertTests.Sink())
            try await guardian?.reload()
        }
        gateway = Gateway(
            authenticator: Authenticator(store: ledger),
            router: ModelRouter(routes: routes, providers: providers),
            ledger: writer, pricing: pricing, metrics: GatewayMetrics(factory: NOOPMetricsHandler.instance),
            controls: GatewayControls(runs: runs, budgets: guardian), backoff: backoff, notices: notices
        )
    }

    func request(_ api: APIKind, _ body: String, headers: [(name: String, value: String)] = []) -> GatewayRequest {
        GatewayRequest(api: api, headers: [("authorization", "Bearer " + secret)] + headers, body: Array(body.utf8))
    }

    func stored() async throws -> [RequestRecord] {
        await writer.flush()
        var records: [RequestRecord] = []
        for id in try await ledger.requestIDs() { if let record = try await ledger.request(id: id) { records.append(record) } }
        return records
    }
}

@Suite struct GatewayPipelineTests {
    /// A whole answer is closed in the ledger before it is written (a `kill -9` after the
    /// client has it cannot leave it interrupted); the rest of its settlement waits for the
    /// server to write it, and runs exactly once: when run, or when the answer is dropped.
    @Test func aWholeAnswerIsSettledOnceWhetherRunOrDropped() async throws {
        let harness = try await PipelineHarness()
        let request = harness.request(.chatCompletions, #"{"model":"gpt-4o-mini","max_tokens":20,"messages":[]}"#)
        var response: GatewayResponse? = await harness.gateway.handle(request, logger: Logger(label: "test"))
        #expect(response?.settlement != nil)
        let closed = try await harness.stored()
        #expect(closed.count == 1 && closed[0].status == .completed, "closed in the ledger before the answer is written")
        response?.settlement?.run()
        response?.settlement?.run()
        #expect(try await harness.stored().count == 1)
        response = nil
        #expect(try await harness.stored().count == 1)

        var dropped: GatewayResponse? = await harness.gateway.handle(request, logger: Logger(label: "test"))
        #expect(dropped?.status == 200)
        dropped = nil
        let records = try await harness.stored()
        #expect(records.count == 2 && records.allSatisfy { $0.status == .completed && $0.usage.output > 0 })
    }

    /// Runs jobs on the global pool, counting them: stands in for a connection's event loop.
    final class CountingExecutor: TaskExecutor {
        let jobs = Atomic<Int>(0)

        func enqueue(_ job: consuming ExecutorJob) {
            jobs.add(1, ordering: .relaxed)
            let job = UnownedJob(job)
            let executor = asUnownedTaskExecutor()
            DispatchQueue.global().async { job.runSynchronously(on: executor) }
        }
    }

    /// A budget's settlement, which runs after the answer, runs on the executor the request
    /// came with (the connection's event loop in the server), not on the global pool: a hop
    /// to the pool woke another thread for every request.
    @Test func theBudgetSettlesOnTheRequestsExecutor() async throws {
        let budget = Budget(
            id: "bud_t", name: "team", scope: BudgetScope(kind: .team, value: "t"), period: .month, unit: .tokens, limit: 1_000_000, enforcement: .hard)
        let harness = try await PipelineHarness(budgets: [budget])
        let executor = CountingExecutor()
        var request = harness.request(.chatCompletions, #"{"model":"gpt-4o-mini","max_tokens":20,"messages":[]}"#)
        request.executor = executor
        let response = await harness.gateway.handleSettled(request, logger: Logger(label: "test"))
        #expect(response.status == 200)
        let deadline = ContinuousClock.now + .seconds(5)
        while executor.jobs.load(ordering: .relaxed) == 0, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
        #expect(executor.jobs.load(ordering: .relaxed) > 0, "the settlement never ran on the request's executor")
    }

    @Test func relayedStreamIsSettledWithTheProvidersUsage() async throws {
        let harness = try await PipelineHarness()
        let response = await harness.gateway.handleSettled(
            harness.request(.messages, #"{"model":"claude-haiku-4-5","max_tokens":50,"stream":true,"messages":[]}"#, headers: [("x-sim-output-tokens", "7")]),
            logger: Logger(label: "test"))
        guard case .stream(let relay) = response.body else {
            Issue.record("expected a stream")
            return
        }
        var received = SSEDecoder()
        var events: [SSEEvent] = []
        try await relay.relay { chunk in events += received.feed(chunk.readableBytesView) }
        #expect(events.last?.event == "message_stop")
        let records = try await harness.stored()
        #expect(records.count == 1)
        #expect(records.first?.status == .completed)
        #expect(records.first?.usage.output == 7)
        #expect(records.first?.cost != nil)
    }

    @Test func streamDroppedBeforeItBeganIsStillRecorded() async throws {
        let harness = try await PipelineHarness()
        do {
            let response = await harness.gateway.handleSettled(
                harness.request(.chatCompletions, #"{"model":"gpt-4o-mini","stream":true,"messages":[]}"#), logger: Logger(label: "test"))
            guard case .stream = response.body else {
                Issue.record("expected a stream")
                return
            }
            // The response is dropped here without being relayed.
        }
        let records = try await harness.stored()
        #expect(records.count == 1)
        #expect(records.first?.status == .cut)
        #expect(records.first?.usageEstimated == true)
        #expect(harness.writer.inFlightCount == 0)
    }

    @Test func clientThatGoesAwayMidStreamIsMeteredAsCut() async throws {
        let harness = try await PipelineHarness()
        let response = await harness.gateway.handleSettled(
            harness.request(.chatCompletions, #"{"model":"gpt-4o-mini","stream":true,"messages":[]}"#, headers: [("x-sim-output-tokens", "50")]),
            logger: Logger(label: "test"))
        guard case .stream(let relay) = response.body else {
            Issue.record("expected a stream")
            return
        }
        var sent = 0
        await #expect(throws: CancellationError.self) {
            try await relay.relay { _ in
                sent += 1
                if sent == 5 { throw ChannelError.ioOnClosedChannel }
            }
        }
        let record = try #require(try await harness.stored().first)
        #expect(record.status == .cut)
        #expect(record.error == "the client closed the stream early")
        #expect(record.usageEstimated)
        #expect(record.usage.output > 0 && record.usage.output < 50)
    }

    @Test func refusalsAreInTheCallersFormat() async throws {
        let harness = try await PipelineHarness()
        let anonymous = GatewayRequest(api: .messages, headers: [], body: Array("{}".utf8))
        let refused = await harness.gateway.handleSettled(anonymous, logger: Logger(label: "test"))
        #expect(refused.status == 401)
        guard case .bytes(let body) = refused.body else {
            Issue.record("expected bytes")
            return
        }
        #expect(try JSONView(object: body).path("error", "type")?.string == "authentication_error")
        let malformed = await harness.gateway.handleSettled(harness.request(.chatCompletions, "{\"model\":"), logger: Logger(label: "test"))
        #expect(malformed.status == 400)
    }
}

@Suite struct PricingServiceTests {
    func record(provider: String, served: String?, requested: String, usage: Usage = Usage(input: 1_000_000)) -> RequestRecord {
        RequestRecord(
            id: "r", startedAt: Date(), api: "messages", stream: false, status: .completed, attribution: Attribution(),
            requestedModel: requested, servedModel: served, provider: provider, usage: usage)
    }

    @Test func pricesByServedModelWithDiscountsAndFallbacks() {
        var catalog = PriceCatalog.builtIn()
        catalog.discounts = ["anthropic": 2_000]
        let pricing = Pricing(catalog)
        // claude-haiku-4-5 is $1/M input; 20 % off.
        #expect(pricing.cost(of: record(provider: "anthropic", served: "claude-haiku-4-5-20251001", requested: "haiku")) == NanoUSD(800_000_000))
        #expect(pricing.cost(of: record(provider: "sim", served: "claude-haiku-4-5", requested: "claude-haiku-4-5")) == NanoUSD(1_000_000_000))
        #expect(pricing.cost(of: record(provider: "local", served: "house-snapshot-7", requested: "gpt-4o-mini")) == NanoUSD(150_000_000))
        #expect(pricing.cost(of: record(provider: "local", served: "house-model", requested: "house-model")) == nil)
        // Replacing the catalog takes effect at once, memo or not.
        var updated = PriceCatalog()
        updated.add(
            ModelPrice(
                provider: "local", model: "house-model", effectiveFrom: Date(timeIntervalSince1970: 0),
                input: TokenRate(dollarsPerMillion: "2")!, output: TokenRate(dollarsPerMillion: "2")!))
        pricing.replace(with: updated)
        #expect(pricing.cost(of: record(provider: "local", served: "house-model", requested: "house-model")) == NanoUSD(2_000_000_000))
    }
}

@Suite struct AuthenticatorTests {
    @Test func readsEachHeaderStyle() {
        #expect(Authenticator.secret(from: [("authorization", "Bearer  sk-1 ")]) == "sk-1")
        #expect(Authenticator.secret(from: [("authorization", "bearer sk-2")]) == "sk-2")
        #expect(Authenticator.secret(from: [("x-api-key", " sk-3")]) == "sk-3")
        #expect(Authenticator.secret(from: [("api-key", "sk-4")]) == "sk-4")
        #expect(Authenticator.secret(from: [("authorization", "Basic abc")]) == nil)
        #expect(Authenticator.secret(from: [("authorization", "Bearer ")]) == nil)
        #expect(Authenticator.secret(from: []) == nil)
    }

    @Test func unknownKeysAreForgottenSoon() async throws {
        let ledger = try SQLiteLedger(inMemory: ())
        let clock = Mutex(ContinuousClock.now)
        let authenticator = Authenticator(store: ledger, cacheTTL: .seconds(60), missTTL: .seconds(1), now: { clock.withLock { $0 } })
        let (secret, key) = KeySecrets.makeKey(
            name: nil, role: .gateway, organization: "o", team: nil, member: "m", service: nil, environment: .production, workflow: nil, expiresAt: nil)
        let headers = [(name: "authorization", value: "Bearer " + secret)]
        await #expect(throws: GatewayError.self) { try await authenticator.authenticate(headers: headers) }
        try await ledger.insert(key)
        // Still remembered as unknown within the second…
        clock.withLock { $0 += .milliseconds(900) }
        await #expect(throws: GatewayError.self) { try await authenticator.authenticate(headers: headers) }
        // …and looked up again after it.
        clock.withLock { $0 += .milliseconds(200) }
        #expect(try await authenticator.authenticate(headers: headers).id == key.id)
        // Found keys are remembered for the longer TTL: a revocation shows after it.
        _ = try await ledger.revoke(key.id, at: Date())
        clock.withLock { $0 += .seconds(30) }
        #expect(try await authenticator.authenticate(headers: headers).id == key.id)
        clock.withLock { $0 += .seconds(31) }
        await #expect(throws: GatewayError.self) { try await authenticator.authenticate(headers: headers) }
    }

    @Test func hashesAreSHA256Hex() {
        #expect(KeySecrets.hash("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        let secret = KeySecrets.generate()
        #expect(secret.hasPrefix("sk-strates-") && secret.count == 51)
        #expect(KeySecrets.generate() != secret)
        #expect(KeySecrets.randomHex(12).count == 24)
    }
}
