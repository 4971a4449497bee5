@testable import Bench
import Foundation
import TestSupport
import Tracking
import XCTest

final class BenchStatisticsTests: XCTestCase {
    func testNearestRankPercentiles() {
        let values = (1...100).map(Double.init)
        XCTAssertEqual(percentile(sorted: values, 0.5), 50)
        XCTAssertEqual(percentile(sorted: values, 0.99), 99)
        XCTAssertEqual(percentile(sorted: values, 1), 100)
        XCTAssertEqual(percentile(sorted: [7], 0.99), 7)
        XCTAssertNil(percentile(sorted: [], 0.5))
    }

    func testTheLatencyHistogramIsWithinThreePercent() {
        var h = LatencyHistogram()
        for v in 1...10_000 { h.record(UInt64(v) * 1000) } // 1 us ... 10 ms
        for (p, exact) in [(0.5, 5_000_000.0), (0.99, 9_900_000.0), (0.01, 100_000.0)] {
            let got = try! XCTUnwrap(h.percentile(p))
            XCTAssertEqual(got, exact, accuracy: exact * 0.03, "p\(p)")
        }
        XCTAssertEqual(h.total, 10_000)
        XCTAssertEqual(h.percentile(0.5).map { _ in () } != nil, true)
        h.clear()
        XCTAssertNil(h.percentile(0.5))
        // Small values are exact.
        h.record(3)
        XCTAssertEqual(h.percentile(0.5), 3)
    }
}
