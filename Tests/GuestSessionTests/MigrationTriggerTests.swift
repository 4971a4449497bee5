@testable import GuestSession
import Testing

/// What starts an outgoing migration: signals count like a semaphore's, a wait ends at its
/// deadline without one, and Ctrl+Alt+M is refused while an attempt runs.
@Suite("Migration trigger")
struct MigrationTriggerTests {
    @Test func aSignalBeforeTheWaitIsKeptAndSignalsCount() async {
        let t = MigrationTrigger()
        t.signal()
        t.signal()
        #expect(await t.wait(timeout: 30))
        #expect(await t.wait(timeout: 30))
        #expect(await t.wait(timeout: 0.01) == false, "two signals, two waits")
    }

    @Test func withoutASignalTheWaitEndsAtItsDeadline() async {
        #expect(await MigrationTrigger().wait(timeout: 0.01) == false)
    }

    @Test func aSignalWakesAWaitWithoutALimit() async {
        let t = MigrationTrigger()
        async let woken = t.wait(timeout: nil)
        // The signal may come before or after the wait begins: either way it is not lost.
        t.signal()
        #expect(await woken)
    }

    @Test func ctrlAltMIsRecordedOnceAndRefusedWhileRunning() async {
        let t = MigrationTrigger()
        #expect(t.requestNow())
        #expect(await t.wait(timeout: 30), "a request signals")
        #expect(t.takeRequest())
        #expect(!t.takeRequest(), "taken once")
        t.setRunning(true)
        #expect(!t.requestNow(), "refused while an attempt runs")
        #expect(!t.takeRequest())
        #expect(await t.wait(timeout: 0.01) == false, "and nothing was signalled")
        t.setRunning(false)
        #expect(t.requestNow())
    }
}
