@testable import Control
import Testing

/// `ctl status` during a migration that auto-converge has slowed says by how much.
@Suite("Control status with auto-converge")
struct ControlSlowdownTests {
    static func answer(slowdown: Int?) -> MigrationAnswer {
        var m = MigrationAnswer(to: "10.0.0.2:7777", state: "running", line: "")
        m.round = 4
        m.pagesLeft = 4607
        m.bytesPerSecond = 4 * 1_048_576
        m.expectedDowntimeMs = 5647.6
        m.slowdownPercent = slowdown
        return m
    }

    @Test func aSlowedGuestIsShownWithItsStep() {
        #expect(ControlAnswerText.migration(Self.answer(slowdown: 30))
            == "migration to 10.0.0.2:7777: running, round 4: 4607 pages left at 4.0 MiB/s, expected downtime 5647.6 ms, guest slowed by 30% (auto-converge)")
    }

    @Test func aGuestNotSlowedShowsNoStep() {
        #expect(!ControlAnswerText.migration(Self.answer(slowdown: nil)).contains("slowed"))
    }
}
