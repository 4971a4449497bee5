import Dispatch
import Foundation
import KVM
import LiveMigration
import Machine
import MigrationWire
import Synchronization
import Tracking

/// Snapshots of one running guest: full ones, and incremental ones that hold only the pages
/// dirtied since the last snapshot, as Firecracker's diff snapshots do. The dirty pages come
/// from a migration subscriber of the series' own (the page list's second consumer),
/// subscribed at the first snapshot, so the next incremental knows what changed; each
/// snapshot takes its set. Written with the guest paused (the caller pauses it).
public final class SnapshotSeries: Sendable {
    /// What one snapshot wrote.
    public struct Written: Sendable {
        public var path: String
        public var header: SnapshotHeader
        /// Page records written (an incremental one counts zero pages it cleared).
        public var pages: Int
        public var bytes: Int
        public var seconds: Double
    }

    private struct Last: Sendable {
        var id: SnapshotID
        var path: String
        var sequence: UInt64
    }

    private struct State: Sendable {
        var subscriber: MigrationSubscriber?
        var last: Last?
        var image: [UInt8]?
    }

    private let session: TrackingSession
    private let state: Mutex<State>

    /// A series for `session`'s guest. `imageBytes` is its image file's contents when it has
    /// no file of its own (received or restored); otherwise the file is read at the first snapshot.
    public init(session: TrackingSession, imageBytes: [UInt8]?) {
        self.session = session
        state = Mutex(State(image: imageBytes))
    }

    /// Writes a snapshot of the paused guest to `path` (atomically): a full one, or with
    /// `base` an incremental one after the snapshot at that path, which must be the last one
    /// this series wrote. On failure nothing is left at `path` that was not there, and the
    /// pages dirtied since the last snapshot still count for the next one.
    public func write(to path: String, incrementalFrom base: String?) throws(SnapshotError) -> Written {
        let start = DispatchTime.now().uptimeNanoseconds
        return try state.withLock { s throws(SnapshotError) -> Written in
            let header = try nextHeader(s, base: base)
            let image = try imageBytes(&s)
            let machine = session.machine
            machine.input.setHeld(true) // pushes wait in the VMM: the queue in RAM stays as written
            defer { machine.input.setHeld(false) }
            let dirty = try takeDirtyPages(&s)
            do throws(SnapshotError) {
                let (pages, bytes) = try writeFile(path, header: header, image: image, dirty: dirty)
                s.last = Last(id: header.id, path: path, sequence: header.sequence)
                return Written(path: path, header: header, pages: pages, bytes: bytes,
                               seconds: Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
            } catch {
                if let dirty, let sub = s.subscriber { session.giveBack(dirty, to: sub) }
                throw error
            }
        }
    }

    /// The last snapshot written (its path and id), if any.
    public var last: (path: String, id: SnapshotID)? { state.withLock { s in s.last.map { ($0.path, $0.id) } } }

    /// Stops following the guest's dirty pages (at the end of the run).
    public func close() {
        state.withLock { s in
            if let sub = s.subscriber { try? session.unsubscribe(sub) }
            s.subscriber = nil
        }
    }

    private func nextHeader(_ s: State, base: String?) throws(SnapshotError) -> SnapshotHeader {
        guard let base else { return SnapshotHeader(kind: .full, id: .random(), base: nil, sequence: 0) }
        guard session.plan.mode.hasPageList else {
            throw .refused("--tracking \(session.plan.mode.rawValue) keeps no list of dirty pages: take a full snapshot (without --incremental)")
        }
        guard let last = s.last else { throw .refused("this guest has no snapshot yet to be incremental to: take a full one first") }
        let baseHeader = try SnapshotReader(try SnapshotFile(path: base)).header
        guard baseHeader.id == last.id else {
            throw .refused("\(base) is not the last snapshot of this guest (that is \(last.path)): an incremental snapshot holds the pages dirtied since the last one")
        }
        return SnapshotHeader(kind: .incremental, id: .random(), base: last.id, sequence: last.sequence + 1)
    }

    private func imageBytes(_ s: inout State) throws(SnapshotError) -> [UInt8] {
        if let image = s.image { return image }
        let path = session.machine.config.image.path
        guard let data = FileManager.default.contents(atPath: path) else {
            throw .io("cannot read the guest image \(path) to put it in the snapshot")
        }
        guard data.count <= MigrationWire.maxImageBytes else { throw .refused("the guest image is larger than \(MigrationWire.maxImageBytes >> 20) MiB") }
        s.image = [UInt8](data)
        return s.image!
    }

    /// The pages dirtied since the last snapshot (a sync first: the vCPUs are paused, so that
    /// is everything). The first snapshot subscribes, and its set (every page) is not used.
    private func takeDirtyPages(_ s: inout State) throws(SnapshotError) -> MigrationPageSet? {
        guard session.plan.mode.hasPageList else { return nil }
        do {
            if s.subscriber == nil { s.subscriber = try session.subscribeMigration() }
            return try session.take(s.subscriber!)
        } catch {
            throw .io("cannot take the dirty pages: \(error)")
        }
    }

    private func writeFile(_ path: String, header: SnapshotHeader, image: [UInt8],
                           dirty: MigrationPageSet?) throws(SnapshotError) -> (pages: Int, bytes: Int) {
        let machine = session.machine
        let out = try SnapshotFileWriter(path: path, header: header)
        var encoder = SectionEncoder(out: out)
        if header.kind == .full {
            let config = MigrationConfig.describing(session, image: machine.config.image, bytes: image)
            try encoder.message(.config, .config(config))
        }
        var pages = 0
        for slot in machine.slots {
            if header.kind == .incremental {
                guard let set = dirty?[slot: slot.id] else { continue }
                pages += try encoder.pages(of: slot, set.pages, zeroRecords: true)
            } else {
                var list: [UInt64] = []
                NonZeroPages.forEach(in: slot) { list.append($0) }
                pages += try encoder.pages(of: slot, list, zeroRecords: false)
            }
        }
        for i in 0..<machine.vcpuCount {
            let state: VCPUState
            do { state = try machine.vcpu(i).saveState() } catch { throw .io("cannot save vCPU \(i)'s state: \(error)") }
            try encoder.message(.vcpuState, .vcpuState(index: UInt32(i), state: state.encode()))
        }
        try encoder.message(.deviceState, .deviceState(DeviceState.describing(pausedMachine: machine)))
        let end = SnapshotEnd(sections: out.sections, pages: UInt64(pages)).encode()
        try out.section(.end, end)
        try out.commit()
        return (pages, out.bytesWritten)
    }
}

/// Migration messages as sections: each encoded as a frame, written without its length.
private struct SectionEncoder {
    let out: SnapshotFileWriter
    var frame: [UInt8] = []

    mutating func message(_ type: SnapshotFormat.SectionType, _ m: MigrationMessage) throws(SnapshotError) {
        frame.removeAll(keepingCapacity: true)
        MigrationWire.encode(m, into: &frame)
        try writeFrame(type)
    }

    /// `list` (ascending) in sections of at most `pagesPerSection`; a zero page becomes a
    /// zero record (only asked for by incremental snapshots: a full one lists none).
    mutating func pages(of slot: MemorySlot, _ list: [UInt64], zeroRecords: Bool) throws(SnapshotError) -> Int {
        var i = 0
        while i < list.count {
            let batch = Array(list[i..<min(i + SnapshotFormat.pagesPerSection, list.count)])
            frame.removeAll(keepingCapacity: true)
            MigrationWire.encodePages(slot: slot.id, pages: batch, into: &frame) { p in
                let raw = NonZeroPages.page(Int(p), of: slot)
                return zeroRecords && NonZeroPages.isZero(raw) ? nil : raw
            }
            try writeFrame(.pages)
            i += batch.count
        }
        return list.count
    }

    private func writeFrame(_ type: SnapshotFormat.SectionType) throws(SnapshotError) {
        try out.section(type, frame, from: 4)
    }
}
