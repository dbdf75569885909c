import NIOCore

/// Runs a task's jobs on one NIO event loop. A model call's task prefers the loop that owns
/// its client connection, so its steps, its upstream connection's events and its writes to
/// the client happen on one thread with no hand-offs between threads in between.
final class EventLoopExecutor: TaskExecutor {
    let loop: any EventLoop

    init(loop: any EventLoop) {
        self.loop = loop
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = asUnownedTaskExecutor()
        loop.execute { job.runSynchronously(on: executor) }
    }
}
