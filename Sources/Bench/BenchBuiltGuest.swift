import Machine

/// Workloads whose guest is built by a script outside the repository (`BuiltGuest`): DOOM.
/// When it is not built the runner skips the workload with one line (`BenchRunner.skipped`).
extension BenchWorkload {
    /// DOOM's attract-mode demo with `clock=frames` (one game tic per guest frame), so every
    /// mode sees the same pictures at the same frames. The first 240 frames (the title screen,
    /// quiet, and the wipe into the first demo at about frame 215) run before any phase
    /// measures: the cells measure demo playback. The WAD goes in as a boot module.
    public static var doom: BenchWorkload {
        var w = BenchWorkload(label: "doom", guest: "doom", arguments: "clock=frames")
        w.leadInFrames = 240
        w.oneVCPU = true
        return w
    }

    /// Why this workload cannot run here, as the one line the bench prints, or nil.
    public var notBuiltReason: String? {
        guard let built = BuiltGuest.named(guest), !built.isBuilt else { return nil }
        return "skipping \(label): \(MachineError.guestNotBuilt(name: built.name, directory: built.directory, command: built.buildCommand))"
    }

    /// The data files its guest needs, as boot modules (none for the built-in guests).
    public func bootModules(maxBytes: UInt64) throws(BenchError) -> [BootModule] {
        guard let built = BuiltGuest.named(guest) else { return [] }
        var modules: [BootModule] = []
        for spec in built.moduleSpecs {
            do { modules.append(try BootModule(spec: spec, maxBytes: maxBytes)) } catch { throw BenchError("\(label): \(error)") }
        }
        return modules
    }
}
