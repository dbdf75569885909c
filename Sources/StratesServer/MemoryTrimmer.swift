import ServiceLifecycle

#if canImport(Glibc)
    import CMalloc
#endif

/// Hands memory the C allocator holds but no longer uses back to the system, every few
/// seconds while `strates serve` runs.
///
/// A gateway's large allocations are request and response bodies (a coding agent's
/// prompt is often several hundred KB) that live for one request. glibc raises its mmap
/// threshold to the largest block freed so far, so after the first big body later ones
/// come from heap arenas, which fragment and are never returned: after a burst of large
/// prompts the memory stayed resident. Fixing the threshold instead (every big body its
/// own mapping) returned the memory but cost CPU per large request in page faults.
/// `malloc_trim(0)` releases the free pages inside every arena, off the hot path.
/// BENCHMARKS.md has the measurements.
struct MemoryTrimmer: Service {
    var interval: Duration = .seconds(5)

    func run() async throws {
        do {
            try await cancelWhenGracefulShutdown {
                while true {
                    try await Task.sleep(for: interval)
                    Self.trim()
                }
            }
        } catch is CancellationError {
            return
        }
    }

    static func trim() {
        #if canImport(Glibc)
            _ = malloc_trim(0)
        #endif
    }
}
