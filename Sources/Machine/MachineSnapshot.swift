import Input
import KVM
#if canImport(Glibc)
import Glibc
#endif

/// A paused machine, complete enough to build a fresh VM that continues it
/// (`Machine(system:config:events:restoring:)`): guest RAM and framebuffer bytes, every
/// vCPU's state and its frame count, and the input events the VMM held for the guest.
public struct MachineSnapshot: Sendable {
    public var width: Int
    public var height: Int
    /// Bytes per framebuffer row.
    public var pitch: Int
    /// All of guest RAM (slot 0).
    public var ram: [UInt8]
    /// The whole framebuffer slot (slot 1), padding included.
    public var framebuffer: [UInt8]
    /// vCPU i's state at index i.
    public var vcpus: [VCPUState]
    /// Frames vCPU i had completed (doorbells seen): the restored machine counts on from these.
    public var frameCounts: [Int]
    /// Input events waiting in the VMM for room in the guest's queue (device state: the
    /// queue's ring itself is in `ram`), oldest first.
    public var inputWaiting: [InputEvent]

    public init(width: Int, height: Int, pitch: Int, ram: [UInt8], framebuffer: [UInt8], vcpus: [VCPUState], frameCounts: [Int],
                inputWaiting: [InputEvent] = []) {
        self.inputWaiting = inputWaiting
        self.width = width
        self.height = height
        self.pitch = pitch
        self.ram = ram
        self.framebuffer = framebuffer
        self.vcpus = vcpus
        self.frameCounts = frameCounts
    }

    /// Throws `snapshotMismatch` naming the first thing `config` does not share with this snapshot.
    func check(matches config: MachineConfig) throws(MachineError) {
        func mismatch(_ what: String, _ snapshot: Any, _ configured: Any) -> MachineError {
            .snapshotMismatch("the snapshot's \(what) is \(snapshot) but the machine is configured with \(configured)")
        }
        if width != config.width || height != config.height { throw mismatch("screen", "\(width)x\(height)", "\(config.width)x\(config.height)") }
        if pitch != config.framebufferPitch { throw mismatch("pitch", pitch, config.framebufferPitch) }
        if UInt64(ram.count) != config.ramBytes { throw mismatch("RAM size", "\(ram.count) bytes", "\(config.ramBytes) bytes") }
        if framebuffer.count != config.framebufferSlotBytes {
            throw mismatch("framebuffer slot", "\(framebuffer.count) bytes", "\(config.framebufferSlotBytes) bytes")
        }
        if vcpus.count != config.cpus { throw mismatch("vCPU count", vcpus.count, config.cpus) }
        if frameCounts.count != vcpus.count { throw mismatch("frame counts", "\(frameCounts.count) entries", "\(vcpus.count) vCPUs") }
    }

    static func bytes(of memory: GuestMemory) -> [UInt8] {
        // SAFETY: the mapping is `size` bytes; every vCPU is held, so nothing writes it meanwhile.
        Array(UnsafeRawBufferPointer(start: memory.base, count: memory.size))
    }

    /// Copies `bytes` into fresh (all-zero) guest memory of slot `slot` through the VMM's
    /// tracked write API (so the display and any consumer see the restored pages), skipping
    /// zero pages so they stay untouched and cost nothing.
    static func copy(_ bytes: [UInt8], into slot: MemorySlot, with writer: GuestWriter) {
        precondition(bytes.count == slot.memory.size, "snapshot size checked by check(matches:)")
        let page = 4096
        let zero = [UInt8](repeating: 0, count: page)
        bytes.withUnsafeBytes { src in
            zero.withUnsafeBytes { z in
                var offset = 0
                while offset < src.count {
                    let n = min(page, src.count - offset)
                    // SAFETY: offset + n <= src.count == the slot's size; zero has `page` >= n bytes.
                    if memcmp(src.baseAddress! + offset, z.baseAddress!, n) != 0 {
                        writer.copy(UnsafeRawBufferPointer(rebasing: src[offset..<offset + n]), to: slot.guestPhysicalAddress + UInt64(offset))
                    }
                    offset += n
                }
            }
        }
    }
}
