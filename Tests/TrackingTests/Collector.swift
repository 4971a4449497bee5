import Foundation
import Synchronization
import TestSupport
@testable import Tracking
import XCTest

/// Harvests back to back on its own thread, as the display refresh does.
final class Collector: Sendable {
    let session: TrackingSession
    /// Syncs as the sync loop makes them (`syncForReaders`: idle with no display sink).
    let forReaders: Bool
    private let running = Atomic<Bool>(true)
    private let ended = Latch()
    /// Wakes `waitForSync`; `count` grows under it.
    private let synced = NSCondition()
    private let count = Atomic<Int>(0)
    /// Syncs this collector made (not counting anyone else's).
    var syncs: Int { count.load(ordering: .sequentiallyConsistent) }
    init(session: TrackingSession, forReaders: Bool = false) {
        self.session = session
        self.forReaders = forReaders
    }
    func start() {
        Thread { [self] in
            while running.load(ordering: .sequentiallyConsistent) {
                if (try? forReaders ? session.syncForReaders() : session.sync()) != nil {
                    synced.lock(); count.add(1, ordering: .sequentiallyConsistent); synced.broadcast(); synced.unlock()
                }
                usleep(200)
            }
            ended.raise()
        }.start()
    }
    /// Waits until this collector has made a sync after its `after`-th; false after a minute.
    func waitForSync(after n: Int) -> Bool {
        let deadline = Date(timeIntervalSinceNow: 60)
        synced.lock(); defer { synced.unlock() }
        while syncs <= n { if !synced.wait(until: deadline) { return syncs > n } }
        return true
    }

    /// Ends the thread; fails the test if it has not ended within a minute (a sync stuck).
    func stop(file: StaticString = #filePath, line: UInt = #line) {
        running.store(false, ordering: .sequentiallyConsistent)
        if !ended.wait(timeout: 60) { XCTFail("the collector's sync did not return within 60 s", file: file, line: line) }
    }
}
