import Display
import KVM
import Machine
import TestSupport
@testable import Tracking
import XCTest
import Synchronization
/// Harvests back to back on its own thread, as the display refresh does.
/// `@unchecked Sendable`: its flags are guarded by `lock`, a condition variable `stop` waits on.
final class Collector: @unchecked Sendable {
    let session: TrackingSession
    /// Syncs as the sync loop makes them (`syncForReaders`: idle with no display sink).
    let forReaders: Bool
    private let lock = NSCondition()
    private var running = true
    private var done = false
    private var count = 0
    /// Syncs this collector made (not counting anyone else's).
    var syncs: Int { lock.lock(); defer { lock.unlock() }; return count }
    init(session: TrackingSession, forReaders: Bool = false) {
        self.session = session
        self.forReaders = forReaders
    }
    func start() {
        Thread { [self] in
            while true {
                lock.lock(); let go = running; lock.unlock()
                if !go { break }
                if (try? forReaders ? session.syncForReaders() : session.sync()) != nil { lock.lock(); count += 1; lock.broadcast(); lock.unlock() }
                usleep(200)
            }
            lock.lock(); done = true; lock.broadcast(); lock.unlock()
        }.start()
    }
    /// Waits until this collector has made a sync after its `after`-th; false after a minute.
    func waitForSync(after n: Int) -> Bool {
        let deadline = Date(timeIntervalSinceNow: 60)
        lock.lock(); defer { lock.unlock() }
        while count <= n { if !lock.wait(until: deadline) { return count > n } }
        return true
    }

    /// Ends the thread; fails the test if it has not ended within a minute (a sync stuck).
    func stop(file: StaticString = #filePath, line: UInt = #line) {
        let deadline = Date(timeIntervalSinceNow: 60)
        lock.lock(); running = false
        while !done { if !lock.wait(until: deadline) { break } }
        let ended = done
        lock.unlock()
        if !ended { XCTFail("the collector's sync did not return within 60 s", file: file, line: line) }
    }
}
