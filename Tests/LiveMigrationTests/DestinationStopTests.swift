@testable import LiveMigration
import XCTest

/// A signal at `ringside receive`: before the commit nothing is kept; after it the guest
/// that runs here is never discarded.
final class DestinationStopTests: XCTestCase {
    func testAStopBeforeTheSourceConnectsDiscardsWhatArrivesLater() {
        let stop = DestinationStop()
        XCTAssertTrue(stop.discardUnlessStarted(), "no guest runs here")
        let handOver = DestinationHandOver()
        stop.attach(handOver)
        XCTAssertNil(handOver.startUnlessDiscarded { 1 }, "a commit after the stop does not start the guest")
        XCTAssertEqual(handOver.phase, .discarded)
    }

    func testAStopWhileReceivingDiscardsAndTheCommitStartsNothing() {
        let stop = DestinationStop(), handOver = DestinationHandOver()
        stop.attach(handOver)
        XCTAssertTrue(stop.discardUnlessStarted())
        var started = false
        XCTAssertNil(handOver.startUnlessDiscarded { started = true; return 1 })
        XCTAssertFalse(started)
    }

    func testAStopAfterTheGuestStartedHereKeepsIt() {
        let stop = DestinationStop(), handOver = DestinationHandOver()
        stop.attach(handOver)
        XCTAssertEqual(handOver.startUnlessDiscarded { 7 }, 7)
        XCTAssertFalse(stop.discardUnlessStarted(), "the guest runs here: the caller stops it as a run")
        XCTAssertEqual(handOver.phase, .started(resumeNanos: 7), "and it is not discarded")
    }
}
