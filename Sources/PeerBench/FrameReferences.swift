internal import CPeerBench
import Foundation
import KVM
import Machine
import Synchronization

/// The hash of every frame 1...N of a guest, computed by booting the image in this process
/// (Ringside's Machine, unpaced, no tracking) and hashing the framebuffer at each doorbell
/// while the vCPU is out of the guest. A client's picture that hashes to frame n shows
/// exactly frame n; one that hashes to no frame was sent half drawn (torn).
public struct FrameReferences: Sendable {
    /// Frame numbers by picture hash (a picture can repeat, e.g. a cycling palette).
    let frames: [UInt64: [Int]]
    public let count: Int

    /// The frames whose picture hashes to `hash`, oldest first (empty: no frame looks so).
    func frames(matching hash: UInt64) -> [Int] { frames[hash] ?? [] }

    /// Boots `guest` (its image as the version it declares, its modules, arguments and
    /// geometry) and hashes frames 1...`count`.
    public static func compute(system: KVMSystem, guest g: PeerGuest, frames count: Int) throws -> FrameReferences {
        let image = try GuestImage(path: g.imagePath, name: g.imageName)
        var config = MachineConfig(image: image)
        config.undeclaredABIVersion = g.abiVersion
        config.modules = try g.modules.map { try BootModule(spec: "\($0.path)=\($0.name)", maxBytes: g.ramBytes) }
        config.ramBytes = g.ramBytes
        config.arguments = g.arguments
        let width = g.width, height = g.height
        config.width = width
        config.height = height
        config.guestHz = 0
        config.frameLimit = count
        let box = HashBox(count: count)
        var events = MachineEvents()
        events.frameDone = { _, frame in box.record(frame) }
        let machine = try Machine(system: system, config: config, events: events)
        box.attach(machine.framebuffer, width: width, height: height, pitch: config.framebufferPitch)
        machine.start()
        let outcome = machine.wait()
        guard case .framesCompleted = outcome else { throw FrameReferenceError(description: "computing \(g.label)'s reference frames: \(outcome)") }
        var byHash: [UInt64: [Int]] = [:]
        for (i, h) in box.hashes.enumerated() where i > 0 { byHash[h, default: []].append(i) }
        return FrameReferences(frames: byHash, count: count)
    }
}

struct FrameReferenceError: Error, CustomStringConvertible { let description: String }

/// Hashes the framebuffer on the vCPU thread at each doorbell (one vCPU: memory is still).
private final class HashBox: Sendable {
    private struct State {
        var hashes: [UInt64]
        var memory: GuestMemory?
        var width = 0, height = 0, pitch = 0
    }
    private let state: Mutex<State>

    init(count: Int) { state = Mutex(State(hashes: [UInt64](repeating: 0, count: count + 1))) }

    /// Frame n's hash at index n (0 for a frame not seen).
    var hashes: [UInt64] { state.withLock { $0.hashes } }

    func attach(_ memory: GuestMemory, width: Int, height: Int, pitch: Int) {
        state.withLock { s in
            s.memory = memory
            (s.width, s.height, s.pitch) = (width, height, pitch)
        }
    }

    func record(_ frame: Int) {
        state.withLock { s in
            guard let memory = s.memory, frame < s.hashes.count else { return }
            // SAFETY: the framebuffer slot holds pitch * height bytes from its start; the guest's
            // only vCPU is out of the guest while its doorbell is handled.
            let pixels = memory.pointer(at: 0).assumingMemoryBound(to: UInt32.self)
            s.hashes[frame] = cpb_hash(pixels, Int32(s.pitch / 4), Int32(s.width), Int32(s.height))
        }
    }
}
