import Dispatch
import Foundation
import KVM
import Machine
import MigrationWire
import Tracking
#if canImport(Glibc)
import Glibc
#endif

/// Sends a machine's pages over a migration connection: page sets in batches of
/// `pagesPerMessage`, within the bandwidth limit, and at the end a digest of every page ever
/// sent. Round 0 skips zero pages (the destination's memory starts zeroed); later rounds send
/// them as zero records.
final class PageSender {
    static let pagesPerMessage = 256
    let machine: Machine
    let connection: MigrationConnection
    /// Bytes per second at most (nil: as fast as the connection goes).
    let maxBandwidth: Double?
    /// When the attempt started, for the bandwidth limit.
    let start: UInt64
    /// Every page sent so far: the pages `sendDigests` covers.
    private(set) var sentEver: MigrationPageSet
    /// Compresses batches when that pays (`PageCompressor`).
    let compressor: PageCompressor

    init(machine: Machine, connection: MigrationConnection, maxBandwidth: Double?, start: UInt64, compressor: PageCompressor) {
        self.compressor = compressor
        self.machine = machine
        self.connection = connection
        self.maxBandwidth = maxBandwidth
        self.start = start
        sentEver = MigrationPageSet(pageCounts: machine.slots.map { ($0.id, $0.pageCount) })
    }

    /// Sends the pages of `set`; returns the pages and bytes sent.
    func send(_ set: MigrationPageSet, skipZero: Bool) async throws -> (pages: Int, bytes: Int) {
        var pages = 0
        let before = connection.bytesSent
        for slot in machine.slots {
            guard let list = set[slot: slot.id] else { continue }
            var batch: [UInt64] = []
            batch.reserveCapacity(Self.pagesPerMessage)
            var out: [UInt8] = []
            let resident = skipZero ? Residency(slot.memory) : nil
            var pageList: [UInt64] = []
            list.forEachPage { pageList.append($0) }
            for p in pageList {
                if let resident, !resident.contains(page: Int(p)) { continue } // never touched: zero
                if skipZero && isZero(page(p, of: slot)) { continue }
                batch.append(p)
                sentEver.insert(slot: slot.id, page: p)
                if batch.count == Self.pagesPerMessage { pages += try await flush(&batch, slot: slot, into: &out) }
            }
            pages += try await flush(&batch, slot: slot, into: &out)
        }
        return (pages, connection.bytesSent - before)
    }

    /// A digest of every page sent (`MigrationOptions.verify`), per slot.
    func sendDigests() async throws {
        for slot in machine.slots {
            guard let list = sentEver[slot: slot.id] else { continue }
            var batch: [PageDigestRecord] = []
            var pageList: [UInt64] = []
            list.forEachPage { pageList.append($0) }
            for p in pageList {
                batch.append(PageDigestRecord(page: p, digest: PageDigest.of(page(p, of: slot))))
                if batch.count == 65536 { try await connection.send(.digests(slot: slot.id, batch)); batch.removeAll(keepingCapacity: true) }
            }
            if !batch.isEmpty { try await connection.send(.digests(slot: slot.id, batch)) }
        }
    }

    /// Sends `batch` as one pages message; returns how many pages it held.
    private func flush(_ batch: inout [UInt64], slot: MemorySlot, into out: inout [UInt8]) async throws -> Int {
        guard !batch.isEmpty else { return 0 }
        out.removeAll(keepingCapacity: true)
        MigrationWire.encodePages(slot: slot.id, pages: batch, into: &out) { p in
            let raw = page(p, of: slot)
            return isZero(raw) ? nil : raw
        }
        let count = batch.count
        batch.removeAll(keepingCapacity: true)
        let frame = compressor.frameToSend(out)
        let t0 = DispatchTime.now().uptimeNanoseconds
        try await connection.sendFrames(frame)
        try stillRunning(machine)
        try await keepToBandwidth()
        compressor.sent(nanos: DispatchTime.now().uptimeNanoseconds - t0)
        return count
    }

    /// Sleeps until the bytes sent so far are due at `maxBandwidth`.
    private func keepToBandwidth() async throws {
        guard let limit = maxBandwidth else { return }
        let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        let due = Double(connection.bytesSent) / limit
        if due > elapsed { try await Task.sleep(nanoseconds: UInt64((due - elapsed) * 1e9)) }
    }

    /// Page `p` of `slot` in guest memory.
    private func page(_ p: UInt64, of slot: MemorySlot) -> UnsafeRawBufferPointer {
        // SAFETY: p < slot.pageCount (it came from the slot's page set), so the page lies inside
        // the slot's mapping, which lives as long as the machine.
        UnsafeRawBufferPointer(start: slot.memory.base + Int(p) * MigrationWire.pageSize, count: MigrationWire.pageSize)
    }
}

/// Whether 4096 bytes are all zero.
func isZero(_ page: UnsafeRawBufferPointer) -> Bool {
    var i = 0
    while i < page.count {
        if page.loadUnaligned(fromByteOffset: i, as: UInt64.self) != 0 { return false }
        i += 8
    }
    return true
}

/// Which pages of guest memory were ever touched (`mincore`): an untouched page of the
/// anonymous mapping is zero, so round 0 need not read it (reading it would allocate it).
struct Residency {
    private var vector: [UInt8]
    init(_ memory: GuestMemory) {
        let pages = memory.size / MigrationWire.pageSize
        vector = [UInt8](repeating: 1, count: pages)
        // SAFETY: the mapping is memory.size bytes; mincore writes one byte per page into the vector.
        if mincore(memory.base, memory.size, &vector) != 0 { vector = [UInt8](repeating: 1, count: pages) }
    }
    func contains(page: Int) -> Bool { page < vector.count && vector[page] & 1 != 0 }
}
