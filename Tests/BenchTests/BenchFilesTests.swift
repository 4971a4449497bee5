@testable import Bench
import Foundation
import TestSupport
import Tracking
import XCTest

final class BenchFilesTests: XCTestCase {
    static let fields = ["guest", "width", "height", "mode", "cpus", "ram_bytes", "sinks", "frames", "display_fps", "guest_fps",
                         "host_us_median", "host_us_p99", "harvest_us", "reset_us", "fold_us", "copy_us", "present_us",
                         "dirty_pages", "dirty_tiles", "bytes_copied", "latency_p50_us", "latency_p99_us", "free_run_guest_fps",
                         "host_us_mean", "lockstep_fps"]

    func sample() -> BenchRecord {
        var r = BenchRecord(guest: "bounce16", width: 1920, height: 1080, mode: "ring", cpus: 1, ramBytes: 256 << 20, frames: 60)
        r.displayFPS = 4000; r.guestFPS = 812.5; r.hostMedianMicros = 250; r.hostP99Micros = 512.125
        r.harvestMicros = 28.1234; r.resetMicros = 19; r.foldMicros = 14; r.copyMicros = 170; r.presentMicros = 0.2
        r.dirtyPages = 510; r.dirtyTiles = 1073; r.bytesCopied = 4_382_720
        r.latencyP50Micros = 2.2; r.latencyP99Micros = nil
        return r
    }

    func testJSONHasExactlyTheFieldsInOrderAndNullForWhatWasNotMeasured() throws {
        let text = BenchFiles.json([sample(), sample()])
        let parsed = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[String: Any]])
        XCTAssertEqual(parsed.count, 2)
        XCTAssertEqual(Set(parsed[0].keys), Set(Self.fields))
        XCTAssertTrue(parsed[0]["latency_p99_us"] is NSNull)
        XCTAssertEqual(parsed[0]["guest"] as? String, "bounce16")
        XCTAssertEqual(parsed[0]["ram_bytes"] as? Int, 256 << 20)
        XCTAssertEqual(parsed[0]["harvest_us"] as? Double, 28.123)
        // Field order in the text follows the list.
        let firstLine = text.split(separator: "\n")[1]
        var last = firstLine.startIndex
        for f in Self.fields {
            let r = try XCTUnwrap(firstLine.range(of: "\"\(f)\":"), f)
            XCTAssertGreaterThanOrEqual(r.lowerBound, last, f)
            last = r.lowerBound
        }
        XCTAssertEqual(BenchFiles.json([]), "[]\n")
    }

    func testJSONReadsBackToTheSameRecords() throws {
        let back = try BenchFiles.records(fromJSON: Data(BenchFiles.json([sample()]).utf8))
        var expected = sample()
        expected.harvestMicros = 28.123 // three decimals in the file
        XCTAssertEqual(back, [expected])
        XCTAssertThrowsError(try BenchFiles.records(fromJSON: Data("{}".utf8)))
        XCTAssertThrowsError(try BenchFiles.records(fromJSON: Data("[{\"guest\": \"x\"}]".utf8))) {
            XCTAssertTrue("\($0)".contains("'width'"), "\($0)")
        }
    }

    func testCSVHasAHeaderAndOneLinePerRecord() {
        let lines = BenchFiles.csv([sample()]).split(separator: "\n", omittingEmptySubsequences: false)
        XCTAssertEqual(lines[0], Self.fields.joined(separator: ",")[...])
        XCTAssertEqual(lines[1], "bounce16,1920,1080,ring,1,268435456,1,60,4000,812.5,250,512.125,28.123,19,14,170,0.2,510,1073,4382720,2.2,,,,")
    }

    func testTheChartIsAnSVGWithAPanelPerResolutionAndARAMPanel() {
        var records: [BenchRecord] = []
        for (w, h) in [(640, 480), (1920, 1080)] {
            for mode in ["ring", "bitmap", "compare", "full"] {
                for ram: UInt64 in mode == "ring" || mode == "bitmap" ? [256 << 20, 4 << 30] : [256 << 20] {
                    var r = BenchRecord(guest: "desktop", width: w, height: h, mode: mode, cpus: 1, ramBytes: ram, frames: 10)
                    r.hostMedianMicros = mode == "full" ? 200 : 20
                    r.harvestMicros = 2; r.resetMicros = 1; r.dirtyTiles = 30
                    records.append(r)
                }
            }
        }
        let svg = BenchChart.svg(records, subtitle: "test & <check>")
        XCTAssertTrue(svg.hasPrefix("<svg "))
        XCTAssertTrue(svg.hasSuffix("</svg>\n"))
        XCTAssertTrue(svg.contains("640x480, 256M RAM"))
        XCTAssertTrue(svg.contains("1920x1080, 256M RAM"))
        XCTAssertTrue(svg.contains("vs guest RAM"))
        XCTAssertTrue(svg.contains("test &amp; &lt;check&gt;"))
        XCTAssertTrue(svg.contains("<polyline"))
        // Still a picture with nothing measured.
        XCTAssertTrue(BenchChart.svg([]).contains("no measurements"))
    }
}
