#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Synchronization

/// A thread of its own that runs a body again and again until `stop()`, sleeping between
/// runs for the microseconds the body returns: how the benchmark watches a VMM's guest.
final class Poller: Sendable {
    private let name: String
    private let stopping = Atomic<Bool>(false)
    private let started = Atomic<Bool>(false)
    private let ended = DispatchSemaphore(value: 0)

    init(name: String) { self.name = name }

    /// Starts the thread (once).
    func start(_ body: @escaping @Sendable () -> UInt32) {
        guard !started.exchange(true, ordering: .relaxed) else { return }
        let t = Thread { [self] in
            while !stopping.load(ordering: .acquiring) { usleep(body()) }
            ended.signal()
        }
        t.name = name
        t.start()
    }

    /// Ends the thread and waits for its last run; a second call returns at once.
    func stop() {
        guard !stopping.exchange(true, ordering: .acquiringAndReleasing), started.load(ordering: .relaxed) else { return }
        ended.wait()
    }
}
