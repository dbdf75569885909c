import Logging
import ServiceLifecycle

/// Reads control definitions (budgets, rate limits, policies) again every few seconds, so
/// changes made with the CLI (which writes the database directly) reach a running gateway
/// without a restart.
struct ControlReloader: Service, CustomStringConvertible {
    /// How service logs name it (the default would describe the whole runtime).
    var description: String { "ControlReloader" }
    let runtime: StratesRuntime
    let interval: Duration
    let logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try? await Task.sleep(for: interval)
                do {
                    try await runtime.reloadControls()
                } catch {
                    logger.warning("could not read control definitions (budgets, limits, policies); keeping the last ones", metadata: ["error": "\(error)"])
                }
            }
        }
    }
}
