#if canImport(Glibc)
import Glibc
#endif
internal import CGuestABI
internal import CQEMUPeer
import Foundation
import Synchronization

/// A window on a Ringside guest's RAM inside a running VMM process (QEMU or `ringside run`),
/// read with `process_vm_readv`: the counters page and the boot stub's state page, read the
/// same way for both VMMs, with nothing changed in either.
/// The RAM is found by content: a mapping whose page 4 holds the boot-info magic and whose
/// page 6 holds the input queue's (guest-physical 0x4000 and 0x6000, the ABI's layout). A VMM
/// can hold more than one such mapping for a while (`--tracking auto`'s start-up probe of the
/// write-fault cost boots the `pagewriter` guest in VMs of its own; a migration destination
/// receives into one mapping and runs from another), so every candidate is kept, those that can no longer be
/// read are dropped, the maps are scanned again every 50 ms, and reads go to the candidate
/// whose guest has completed the most frames: the one that runs.
public final class GuestRAMView: Sendable {
    public let pid: Int32
    /// The mappings that may be the guest's RAM, and when /proc/PID/maps was last read.
    private let found: Mutex<(candidates: [UInt64], scannedAt: UInt64)>

    init(pid: Int32, candidates: [UInt64]) {
        self.pid = pid
        found = Mutex((candidates, DispatchTime.now().uptimeNanoseconds))
    }

    /// Looks for the guest's RAM in `pid` once; nil when it is not there (yet).
    public static func find(pid: Int32) -> GuestRAMView? {
        let found = scan(pid: pid)
        return found.isEmpty ? nil : GuestRAMView(pid: pid, candidates: found)
    }

    /// The host address of guest-physical 0 of the running guest's RAM (nil when none is left).
    public var base: UInt64? {
        found.withLock { found in
            let now = DispatchTime.now().uptimeNanoseconds
            if now - found.scannedAt > 50_000_000 || found.candidates.isEmpty {
                found = (Self.scan(pid: pid), now)
            }
            let counted = found.candidates.compactMap { b in Self.read(UInt64.self, pid: pid, at: b + Self.framesOffset).map { (b, $0) } }
            found.candidates = counted.map(\.0)
            return counted.max { $0.1 < $1.1 }?.0
        }
    }

    private static func scan(pid: Int32) -> [UInt64] {
        guard let maps = ProcStat.text("/proc/\(pid)/maps") else { return [] }
        var found: [UInt64] = []
        for line in maps.split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 2, fields[1].hasPrefix("rw") else { continue }
            let range = fields[0].split(separator: "-")
            guard range.count == 2, let start = UInt64(range[0], radix: 16), let end = UInt64(range[1], radix: 16),
                  end - start > RS_GPA_INPUT_QUEUE + 4096 else { continue }
            if read(UInt32.self, pid: pid, at: start + RS_GPA_BOOT_INFO) == RS_BOOT_INFO_MAGIC,
               read(UInt32.self, pid: pid, at: start + RS_GPA_INPUT_QUEUE) == RS_INPUT_QUEUE_MAGIC {
                found.append(start)
            }
        }
        return found
    }

    private static let framesOffset = RS_GPA_COUNTERS + UInt64(MemoryLayout<rs_counters>.offset(of: \rs_counters.frames)!)

    private static func read<T: BitwiseCopyable>(_: T.Type, pid: Int32, at address: UInt64) -> T? {
        withUnsafeTemporaryAllocation(of: T.self, capacity: 1) { buffer -> T? in
            // SAFETY: the kernel writes at most MemoryLayout<T>.size bytes into our one-element buffer.
            guard cqp_read_process(pid, address, buffer.baseAddress, MemoryLayout<T>.size) == MemoryLayout<T>.size else { return nil }
            return UnsafeRawPointer(buffer.baseAddress!).loadUnaligned(as: T.self)
        }
    }

    /// Reads a `T` at guest-physical `gpa` of the running guest; nil when the process has gone.
    public func read<T: BitwiseCopyable>(_: T.Type, at gpa: UInt64) -> T? {
        guard let base else { return nil }
        return Self.read(T.self, pid: pid, at: base + gpa)
    }

    /// `count` bytes at guest-physical `gpa` of the running guest; nil when they cannot all be read.
    public func bytes(at gpa: UInt64, count: Int) -> [UInt8]? {
        guard let base else { return nil }
        var out = [UInt8](repeating: 0, count: count)
        // SAFETY: the kernel writes at most `count` bytes into the array's `count` bytes.
        let n = out.withUnsafeMutableBytes { cqp_read_process(pid, base + gpa, $0.baseAddress, count) }
        return n == count ? out : nil
    }

    /// vCPU 0's frames completed (doorbells seen), from the counters page.
    public var frames: UInt64? { read(UInt64.self, at: Self.framesOffset) }

    /// The pacing tick the VMM last wrote into the counters page.
    public var tick: UInt64? { read(UInt64.self, at: RS_GPA_COUNTERS) }

    /// The boot stub's state page (QEMU only); nil before the loader wrote it, or elsewhere.
    public var stubState: StubState? {
        guard let raw = read(rsq_state.self, at: UInt64(RSQ_GPA_STATE)), raw.magic == RSQ_STATE_MAGIC else { return nil }
        return StubState(raw)
    }
}

/// The boot stub's state page (`ringside_qemu_stub.h`), as the host reads it.
public struct StubState: Sendable, Equatable {
    public enum Phase: Sendable, Equatable {
        case loading, running, stopped, crashed, refused, unknown(UInt32)
    }

    public let phase: Phase
    public let stopFrame: UInt64
    public let periodNanos: UInt64
    public let tick: UInt64
    public let crash: Crash?
    public let width: Int, height: Int, pitch: Int
    public let framebufferBAR: UInt64

    /// An exception the stub does not handle, as it recorded it.
    public struct Crash: Sendable, Equatable, CustomStringConvertible {
        public let vector: UInt64, error: UInt64, rip: UInt64, cr2: UInt64

        public var description: String {
            let names: [UInt64: String] = [6: "#UD (invalid opcode)", 8: "#DF (double fault: an exception with no handler)",
                                           13: "#GP (general protection)", 14: "#PF (page fault)"]
            var s = "\(names[vector] ?? "exception \(vector)") at RIP 0x\(String(rip, radix: 16))"
            if vector == 14 { s += ", address 0x\(String(cr2, radix: 16))" }
            if vector == 13 || vector == 14 { s += ", error code 0x\(String(error, radix: 16))" }
            return s
        }
    }

    init(_ s: rsq_state) {
        switch s.state {
        case RSQ_LOADING: phase = .loading
        case RSQ_RUNNING: phase = .running
        case RSQ_STOPPED: phase = .stopped
        case RSQ_CRASHED: phase = .crashed
        case RSQ_REFUSED: phase = .refused
        default: phase = .unknown(s.state)
        }
        stopFrame = s.stop_frame
        periodNanos = s.period_ns
        tick = s.tick
        crash = s.state == RSQ_CRASHED ? Crash(vector: s.vector, error: s.error, rip: s.rip, cr2: s.cr2) : nil
        width = Int(s.width)
        height = Int(s.height)
        pitch = Int(s.pitch)
        framebufferBAR = s.framebuffer_bar
    }
}
