@testable import LiveMigration
import MigrationWire
import Testing

/// Numbers from the wire that a machine cannot use are refused before the guest starts.
@Suite("Numbers from the wire")
struct WireNumberRulesTests {
    @Test func aFrameCounterBeyondTheLimitIsAProtocolError() {
        for frames: UInt64 in [1 << 63, UInt64.max, 1 << 49] {
            do {
                _ = try DeviceState(frames: [frames], uptimeNanos: 0).machineState(vcpuCount: 1)
                Issue.record("a frame counter of \(frames) was accepted")
            } catch {
                #expect("\(error)" == "protocol error: vCPU 0's frame counter \(frames) is out of range (at most 2^48)")
            }
        }
        #expect(throws: Never.self) { try DeviceState(frames: [1 << 48], uptimeNanos: 0).machineState(vcpuCount: 1) }
    }
}
