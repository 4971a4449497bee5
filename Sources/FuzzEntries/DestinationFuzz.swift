import KVM
import LiveMigration
import Machine
import MigrationWire

/// A stream of frames as a destination takes it after the hellos: a config is checked as
/// `MigrationDestination` checks one (the image's digest, the image parsed, the machine
/// config and its limits); the messages after it are applied to an incoming machine
/// (`IncomingStateApplication`, the destination's own code); a commit gives a downtime.
/// The first message refused ends the input, as it ends a migration.
enum DestinationFuzz {
    /// One incoming machine for every input (building one per input would be all the fuzzer
    /// measured): idle, 32 MiB, one vCPU, 320x200. Nil without /dev/kvm: then the machine's
    /// checks that need no KVM stand in (the device state's numbers, the vCPU state's decoding).
    static let machine: Machine? = {
        guard let system = try? KVMSystem(), let image = try? GuestCatalog.load("idle") else { return nil }
        var config = MachineConfig(image: image)
        (config.width, config.height, config.ramBytes, config.cpus, config.guestHz) = (320, 200, 32 << 20, 1, 0)
        return try? Machine(system: system, incoming: config)
    }()

    static func run(_ bytes: [UInt8]) -> FuzzOutcome {
        var outcome = FuzzOutcome()
        let (bodies, framingError) = WireFuzz.frames(bytes)
        var verify = false
        var application: IncomingStateApplication?
        for body in bodies {
            do {
                let m = try MigrationWire.decode(body)
                switch m {
                case .config(let c): try check(c); verify = c.verify
                case .commit(let paused, let sinceReady): try commit(paused: paused, sinceReady: sinceReady, &outcome)
                default:
                    if let machine {
                        if application == nil { application = IncomingStateApplication(machine: machine, verify: verify) }
                        _ = try application?.apply(m)
                    } else {
                        try checkWithoutKVM(m)
                    }
                }
                outcome.accepted += 1
            } catch {
                outcome.refuse(error)
                return outcome
            }
        }
        if let framingError { outcome.refuse(framingError) }
        return outcome
    }

    /// The destination's checks of a config before it builds the machine. The image is parsed
    /// even when its digest does not match (a source can always make it match).
    private static func check(_ c: MigrationConfig) throws {
        let digestMatches = c.image.withUnsafeBytes { PageDigest.of($0) } == c.imageDigest
        let image = try GuestImage(bytes: c.image, path: "migrated:\(c.imageName)", name: c.imageName)
        try c.machineConfig(image: image, memoryLimit: 1 << 30).validate(maxVCPUs: MigrationWire.maxVCPUs)
        guard digestMatches else { throw MigrationError.refused("the guest image's digest does not match its bytes") }
    }

    private static func commit(paused: UInt64, sinceReady: UInt64, _ outcome: inout FuzzOutcome) throws {
        let seconds = IncomingStateApplication.downtimeSeconds(paused: paused, sinceReady: sinceReady,
                                                               readyToCommitNanos: 1_000_000, resumeNanos: 1000)
        if !(seconds.isFinite && seconds >= 0) { outcome.violations.append("a commit gives a downtime of \(seconds) s") }
    }

    private static func checkWithoutKVM(_ m: MigrationMessage) throws {
        switch m {
        case .deviceState(let d): _ = try d.restorable(vcpuCount: 1)
        case .vcpuState(_, let state): _ = try VCPUState(decoding: state)
        default: break
        }
    }
}
