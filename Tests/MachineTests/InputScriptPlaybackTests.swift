import Foundation
import Input
import KVM
import Machine
import TestSupport
import Synchronization
import XCTest

/// `--input-script` on a real machine: the events of frame N are in the guest's queue when
/// it starts frame N, and no sooner. The `idle` guest never consumes the queue, so `head`
/// in guest RAM counts every event delivered so far.
final class InputScriptPlaybackTests: XCTestCase {
    final class HeadLog: Sendable {
        private let heads = Mutex<(atDoorbell: [Int: UInt32], afterPush: [Int: UInt32])>(([:], [:]))
        /// The head when vCPU 0 rang doorbell N (before pushing frame N + 1).
        var atDoorbell: [Int: UInt32] { heads.withLock { $0.atDoorbell } }
        /// The head when vCPU 0 went back to the guest for frame N + 1.
        var afterPush: [Int: UInt32] { heads.withLock { $0.afterPush } }
        func atDoorbell(_ frame: Int, _ head: UInt32) { heads.withLock { $0.atDoorbell[frame] = head } }
        func afterPush(_ frame: Int, _ head: UInt32) { heads.withLock { $0.afterPush[frame] = head } }
    }

    static func head(_ m: Machine) -> UInt32 {
        // SAFETY (test): an aligned word of the queue page in the machine's RAM mapping.
        UnsafeRawPointer(m.ram.pointer(at: Int(GuestLayout.inputQueue) + 64)).load(as: UInt32.self)
    }

    func play(_ text: String, cpus: Int, frames: Int) throws -> (HeadLog, InputScript, Machine) {
        let script = try InputScript(parsing: Array(text.utf8), name: "test")
        let log = HeadLog()
        let box = MachineBox()
        var events = MachineEvents()
        events.frameDone = { cpu, frame in
            guard let m = box.machine, let player = box.player else { return }
            if cpu == 0 { log.atDoorbell(frame, Self.head(m)) }
            player.frameDone(cpu: cpu, frame: frame)
            if cpu == 0 { log.afterPush(frame, Self.head(m)) }
        }
        let m = try Machine(system: try requireKVM(), config: try testConfig("idle", cpus: cpus, frames: frames), events: events)
        let player = InputScriptPlayer(script: script, sink: m.input, lastFrame: frames)
        box.machine = m
        box.player = player
        player.start()
        XCTAssertEqual(Self.head(m), UInt32(script.entries(in: 0...1).count), "frames 0 and 1 are in before the guest runs")
        m.start()
        guard case .framesCompleted? = m.waitForEnd() else { XCTFail("the guest runs to frame \(frames)"); return (log, script, m) }
        return (log, script, m)
    }

    /// The machine and its player, set once built, for the callbacks made before.
    final class MachineBox: Sendable {
        private let stored = Mutex<(machine: Machine?, player: InputScriptPlayer?)>((nil, nil))
        var machine: Machine? {
            get { stored.withLock { $0.machine } }
            set { stored.withLock { $0.machine = newValue } }
        }
        var player: InputScriptPlayer? {
            get { stored.withLock { $0.player } }
            set { stored.withLock { $0.player = newValue } }
        }
    }

    func testEachFramesEventsArriveAtTheDoorbellBeforeIt() throws {
        let text = """
            0 key down KEY_A
            1 key up KEY_A
            5 pointer 10 20
            5 button down left
            6 button up left
            10 type hi
            30 wheel -1
            41 key down KEY_B
            """
        for cpus in [1, 2] {
            let (log, script, m) = try play(text, cpus: cpus, frames: 40)
            for n in 1...40 {
                // The guest drew frame n having seen exactly the events of frames up to n.
                XCTAssertEqual(log.atDoorbell[n], UInt32(script.entries(in: 0...n).count), "cpus \(cpus): frame \(n) saw its events and no later ones")
                XCTAssertEqual(log.afterPush[n], UInt32(script.entries(in: 0...min(n + 1, 40)).count), "cpus \(cpus): frame \(n + 1)'s events went in at doorbell \(n)")
            }
            XCTAssertEqual(m.input.stats.delivered, script.entries.count - 1, "frame 41 never runs: its event is never pushed")
            XCTAssertEqual(m.input.waitingEvents, [])
        }
    }
}
