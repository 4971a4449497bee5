import Dispatch
import KVM
import LiveMigration
import Machine
import MigrationWire
import Tracking

/// `ringside run --restore FILE [--restore FILE ...]`: a full snapshot, then incremental ones
/// in the order they were taken, into a new machine that is not started. Every file's header
/// is read first and the chain checked (each incremental names the id of the file before
/// it); then the full one's config builds the machine (through `build`, so the caller
/// chooses tracking and display), every file's pages are written in order through the VMM's
/// tracked write API, and the last file's vCPU and device state are loaded. Every section is
/// checked before it is used; a damaged, truncated or mismatched file ends the restore with
/// one line naming it, and the machine, never started, is dropped.
public enum SnapshotRestore {
    /// Builds an incoming (empty, not started) session for the snapshot's config and image.
    public typealias Build = (MigrationConfig, GuestImage) throws -> TrackingSession

    public struct Restored {
        public let session: TrackingSession
        public let config: MigrationConfig
        public let headers: [SnapshotHeader]
        /// Page records applied, over every file.
        public let pages: Int
        public let seconds: Double
    }

    public static func restore(files: [String], build: Build) throws(SnapshotError) -> Restored {
        let start = DispatchTime.now().uptimeNanoseconds
        guard !files.isEmpty else { throw .refused("no snapshot file given") }
        var readers: [SnapshotReader<SnapshotFile>] = []
        for path in files {
            do { readers.append(try SnapshotReader(try SnapshotFile(path: path))) } catch { throw error.in(path) }
        }
        try checkChain(readers.map(\.header), files)
        var first = readers[0]
        let (config, session) = try buildMachine(&first, path: files[0], build: build)
        readers[0] = first
        var applier = StateApplier(machine: session.machine)
        for i in readers.indices {
            do { try applier.apply(&readers[i], isLast: i == readers.count - 1) } catch { throw error.in(files[i]) }
        }
        do { try applier.finish() } catch { throw error.in(files[files.count - 1]) }
        return Restored(session: session, config: config, headers: readers.map(\.header), pages: applier.pages,
                        seconds: Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
    }

    /// A full snapshot first, then each incremental one after the one before it.
    static func checkChain(_ headers: [SnapshotHeader], _ files: [String]) throws(SnapshotError) {
        guard headers[0].kind == .full else {
            throw SnapshotError.mismatch("is an incremental snapshot: give the full snapshot it continues first (--restore FULL --restore \(files[0]))").in(files[0])
        }
        for i in headers.indices.dropFirst() {
            guard headers[i].kind == .incremental else {
                throw SnapshotError.mismatch("is a full snapshot: only the first --restore may be one").in(files[i])
            }
            guard headers[i].base == headers[i - 1].id else {
                throw SnapshotError.mismatch("continues snapshot \(headers[i].base.map { "\($0)" } ?? "-"), not \(files[i - 1]) (\(headers[i - 1].id)): give the snapshots in the order they were taken").in(files[i])
            }
        }
    }

    private static func buildMachine(_ reader: inout SnapshotReader<SnapshotFile>, path: String,
                                     build: Build) throws(SnapshotError) -> (MigrationConfig, TrackingSession) {
        let config: MigrationConfig
        do throws(SnapshotError) {
            guard case .config(let c)? = try reader.next() else { throw SnapshotError.damaged("the config does not come first") }
            config = c
        } catch { throw error.in(path) }
        guard config.image.withUnsafeBytes({ PageDigest.of($0) }) == config.imageDigest else {
            throw SnapshotError.damaged("the guest image's digest does not match its bytes").in(path)
        }
        do {
            let image = try GuestImage(bytes: config.image, path: "snapshot:\(config.imageName)", name: config.imageName)
            return (config, try build(config, image))
        } catch {
            throw SnapshotError.mismatch("cannot build its machine: \(error)").in(path)
        }
    }
}

/// Writes each file's pages into the new machine and keeps the last file's vCPU and device
/// state for `finish()`.
private struct StateApplier {
    let machine: Machine
    var pages = 0
    var vcpuStates: [[UInt8]] = []
    var device: DeviceState?
    private static let zero = [UInt8](repeating: 0, count: MigrationWire.pageSize)

    init(machine: Machine) { self.machine = machine }

    mutating func apply(_ reader: inout SnapshotReader<SnapshotFile>, isLast: Bool) throws(SnapshotError) {
        while let section = try reader.next() {
            switch section {
            case .config: throw .damaged("a second config")
            case .pages(let slot, let list): try write(list, slot: slot)
            case .vcpuState(_, let bytes): if isLast { vcpuStates.append(bytes) }
            case .deviceState(let d): if isLast { device = d }
            }
        }
        guard reader.vcpuCount == machine.vcpuCount else {
            throw .mismatch("holds \(reader.vcpuCount) vCPU states for a machine of \(machine.vcpuCount)")
        }
    }

    private mutating func write(_ list: [PageRecord], slot id: UInt32) throws(SnapshotError) {
        guard let slot = machine.slots.first(where: { $0.id == id }) else { throw .damaged("pages for slot \(id), which the machine does not have") }
        for p in list {
            guard p.page < UInt64(slot.pageCount) else { throw .damaged("page \(p.page) is outside slot \(id) (\(slot.pageCount) pages)") }
            let gpa = slot.guestPhysicalAddress + p.page * UInt64(MigrationWire.pageSize)
            (p.data ?? Self.zero).withUnsafeBytes { machine.writeGuest($0, at: gpa) }
        }
        pages += list.count
    }

    /// Loads the vCPU states and the device state (the destination's checks).
    func finish() throws(SnapshotError) {
        for (i, bytes) in vcpuStates.enumerated() {
            do { try machine.vcpu(i).loadState(try VCPUState(decoding: bytes)) } catch { throw .damaged("vCPU \(i)'s state: \(error)") }
        }
        guard let device else { throw .damaged("no device state") }
        do { try machine.restore(try device.restorable(vcpuCount: machine.vcpuCount)) } catch { throw .mismatch("its device state does not fit: \(error)") }
    }
}
