import Foundation
import Logging
import ServiceLifecycle
import StratesAnalytics
import StratesCore
import StratesGateway
import StratesLedger
import Synchronization

/// Spend spikes from the ledger: over a window for the report, and as they happen — every
/// minute the current and the last hour of each team are checked against its baseline,
/// and each spike is announced once (log and webhooks).
public enum AnomalyReporting {
    public static func detect(database: any WorkloadStore, rules: AnomalyRules, since: Date, until: Date, team: String?) async throws -> [SpendAnomaly] {
        let spend = try await database.hourlySpendByTeam(from: since.addingTimeInterval(-Double(rules.baselineDays) * 86_400), to: until)
        let first = Int64((since.timeIntervalSince1970 / 3_600).rounded(.down))
        let last = max(first, Int64((until.timeIntervalSince1970 / 3_600).rounded(.up)) - 1)
        return spend.filter { team == nil || $0.key == team }
            .flatMap { rules.spikes(team: $0.key, hours: $0.value, checked: first...last) }
            .sorted { ($0.hour, $0.team) > ($1.hour, $1.team) }
    }
}

final class AnomalyWatcher: Service, Sendable, CustomStringConvertible {
    /// How service logs name it (the default would describe the whole runtime).
    var description: String { "AnomalyWatcher" }
    let runtime: StratesRuntime
    let sink: any NoticeSink
    let logger: Logger
    let announced = Mutex(Set<String>())

    init(runtime: StratesRuntime, sink: any NoticeSink, logger: Logger) {
        self.runtime = runtime
        self.sink = sink
        self.logger = logger
    }

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(60))
                do { try await self.check(now: Date()) } catch {
                    self.logger.warning("could not check spend for spikes", metadata: ["error": "\(error)"])
                }
            }
        }
    }

    func check(now: Date) async throws {
        await runtime.ledgerWriter.flush()
        let spikes = try await AnomalyReporting.detect(
            database: runtime.database, rules: runtime.configuration.anomalies, since: now.addingTimeInterval(-3_600), until: now, team: nil
        )
        for spike in spikes where announced.withLock({ $0.insert("\(spike.team)|\(spike.hour)").inserted }) {
            sink.deliver(.spike(spike))
        }
    }
}
