import Display
import KVM
import Machine
import TestSupport
import Tracking
import XCTest

/// `--frames N` gives the same final picture in every tracking mode, for every guest, at odd
/// geometries, with 1 or 2 vCPUs and the smallest ring, while the display refreshes concurrently.
final class SamePictureTests: XCTestCase {
    func finalPicture(_ guest: String, args: String = "", mode: TrackingMode, cpus: Int, width: Int, height: Int, frames: Int) throws -> [UInt8] {
        let system = try requireKVM()
        let caps = try HostCapabilities(system: system)
        var config = try testConfig(guest, args: args, width: width, height: height, cpus: cpus, frames: frames)
        config.guestHz = 0
        let plan = try TrackingPlan.make(mode: mode, ringEntries: 256, caps: caps, migration: false)
        let session = try TrackingSession(system: system, config: config, plan: plan, tile: TileSize(width: 48, height: 20), migration: false)
        let collector = Collector(session: session)
        session.machine.start()
        collector.start()
        let outcome = session.machine.waitForEnd() ?? .stopped
        collector.stop()
        guard case .framesCompleted = outcome else { XCTFail("\(guest) \(mode): \(outcome)"); return [] }
        try session.sync()
        return session.withDisplay { d -> [UInt8] in
            XCTAssertTrue(d.shadowMatchesGuest(), "\(guest) \(mode) \(cpus) vCPU: the shadow equals guest memory")
            return d.shadow.withUnsafeBytes { Array($0) }
        }
    }

    func testEveryModeEndsWithTheSamePictureOnOneVCPU() throws { try everyModeEndsWithTheSamePicture(cpus: 1) }

    func testEveryModeEndsWithTheSamePictureOnTwoVCPUs() throws {
        let caps = try HostCapabilities(system: try requireKVM())
        if caps.usableVCPUs < 2 { throw XCTSkip("host KVM allows \(caps.usableVCPUs) vCPU; this case needs 2") }
        try everyModeEndsWithTheSamePicture(cpus: 2)
    }

    func everyModeEndsWithTheSamePicture(cpus: Int) throws {
        let guests: [(String, String)] = [("desktop", ""), ("terminal", "lines=3"), ("bounce", "sprites=24"), ("plasma", ""), ("idle", ""), ("pattern", "")]
        for (guest, args) in guests {
            var pictures: [TrackingMode: [UInt8]] = [:]
            for mode in TrackingMode.allCases {
                pictures[mode] = try finalPicture(guest, args: args, mode: mode, cpus: cpus, width: 421, height: 263, frames: 45)
            }
            let reference = pictures[.full]!
            XCTAssertTrue(reference.contains { $0 != 0 }, "\(guest) drew something")
            for mode in TrackingMode.allCases {
                XCTAssertTrue(pictures[mode]! == reference, "\(guest), \(cpus) vCPU: \(mode) ends with the same picture as full")
            }
        }
    }
}
