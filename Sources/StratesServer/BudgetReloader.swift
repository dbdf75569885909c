import Logging
import ServiceLifecycle
import StratesGateway

/// Reads budget definitions again every few seconds, so changes made with the CLI (which
/// writes the database directly) reach a running gateway without a restart.
struct BudgetReloader: Service {
    let budgets: BudgetGuard
    let interval: Duration
    let logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try? await Task.sleep(for: interval)
                do {
                    try await budgets.reload()
                } catch {
                    logger.warning("could not read budget definitions; keeping the last ones", metadata: ["error": "\(error)"])
                }
            }
        }
    }
}
