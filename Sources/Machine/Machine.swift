import KVM
import Synchronization
import Input

/// A booted guest: the VM, its RAM and framebuffer slots, the devices on its port bus, and
/// one thread per vCPU. Start with `start()`, end with `stop()` or let `--frames` finish it;
/// `wait()` returns how it ended.
///
/// Where things are: the vCPU threads, their mailboxes and the lockstep and pacing holds in
/// `VCPU/`; the port devices (console, doorbell, exit, yield, DISPI) in `Devices/`; the KVM
/// objects built in `MachineHardware`; start, pause and stop in `MachineRun`; the device
/// state read and restored in `MachineDeviceState`; snapshots in `VCPUStateOperations`.
///
/// Each vCPU is owned by its thread, which alone runs it; others reach it through a
/// `VCPUHandle` (`vcpu(_:)`). State is saved and loaded only while the vCPU is held out of
/// the guest (paused), before `start()` or after the run ended, and a held vCPU's own thread
/// does the work.
public final class Machine: Sendable {
    public let config: MachineConfig
    public let vm: VirtualMachine
    let vcpus: [VCPU]
    public let ram: GuestMemory
    public let framebuffer: GuestMemory
    public let events: MachineEvents
    /// Every memory slot, indexed by id, and which of them KVM logs now.
    let slotTable: SlotTable
    /// Pages the VMM wrote since the last harvest (see `writeGuest`).
    let guestWrites: GuestWriteLog
    /// The guest's keyboard and pointer: push events from any thread.
    public let input: GuestInputQueue
    /// The guest's cursor plane (ABI version 4; nil reads for older guests).
    public let cursor: GuestCursorPlane
    /// Auto-converge's brake on the guest's pace (0 unless a migration is slowing it).
    public let throttle = GuestThrottle()
    let clock = GuestClock()
    let console: ConsolePort
    let doorbell: DoorbellPort
    /// The DISPI mode-setting registers and the mode in force.
    let dispi: DispiPorts
    let bus: PortBus
    let crew: VCPUCrew
    /// Built empty for a migration stream to fill (`init(system:incoming:)`).
    let incoming: Bool
    /// An incoming guest's events that waited at the source: they go into its queue at
    /// `start()`, once its ring has arrived with the pages.
    let incomingInput = Mutex<[InputEvent]>([])
    /// Every vCPU's frame count when `start()` ran (nil before): what a session counts its
    /// frames from, even when the guest has drawn more by the time the session looks.
    let startFrames = Mutex<[Int]?>(nil)

    /// Builds the VM: dirty logging as configured, RAM slot 0, framebuffer slot 1, vCPUs in
    /// long mode at CPL 3 at the image's entry point. Nothing runs until `start()`.
    public convenience init(system: KVMSystem, config: MachineConfig, events: MachineEvents = MachineEvents()) throws(MachineError) {
        try self.init(system: system, config: config, events: events, contents: nil)
    }

    /// Builds a fresh VM that continues where `snapshot` was taken: its RAM and framebuffer
    /// bytes, each vCPU's state and frame count. `config` must have the snapshot's geometry,
    /// RAM size and vCPU count; its image and arguments are not used (they are in the RAM),
    /// while logging, pacing, lockstep and `frameLimit` (counted from frame 1, so it continues
    /// from the snapshot's counts) apply. Nothing runs until `start()`.
    public convenience init(system: KVMSystem, config: MachineConfig, events: MachineEvents = MachineEvents(),
                            restoring snapshot: MachineSnapshot) throws(MachineError) {
        try snapshot.check(matches: config)
        try self.init(system: system, config: config, events: events, contents: snapshot)
        try restore(MachineDeviceState(frameCounts: snapshot.frameCounts, inputWaiting: snapshot.inputWaiting))
    }

    /// Builds a VM for a migration destination to fill: memory all zero, vCPUs created but
    /// not set up. Write the incoming pages with `writeGuest`, load each vCPU's state through
    /// its handle and the device state with `restore(_:)`, then `start()`.
    public convenience init(system: KVMSystem, incoming config: MachineConfig, events: MachineEvents = MachineEvents()) throws(MachineError) {
        try self.init(system: system, config: config, events: events, contents: nil, incoming: true)
    }

    private init(system: KVMSystem, config: MachineConfig, events: MachineEvents, contents snapshot: MachineSnapshot?,
                 incoming: Bool = false) throws(MachineError) {
        self.config = config
        self.events = events
        self.incoming = incoming
        let hardware: MachineHardware
        do { hardware = try MachineHardware(system: system, config: config, snapshot: snapshot, incoming: incoming) } catch { throw .kvm(error) }
        (vm, vcpus, ram, framebuffer) = (hardware.vm, hardware.vcpus, hardware.ram, hardware.framebuffer)
        (slotTable, guestWrites) = (hardware.slots, hardware.writes)
        let writer = hardware.writer
        input = GuestInputQueue(writer: writer)
        cursor = GuestCursorPlane(ram: hardware.ram)
        console = ConsolePort(cpus: config.cpus, consoleLine: events.consoleLine)
        doorbell = DoorbellPort(cpus: config.cpus, counters: CountersPage(writer: writer, clock: clock, period: Pacer.period(hz: config.guestHz)),
                                input: input, frameDone: events.frameDone)
        let maxMode = config.maxModeSize
        dispi = DispiPorts(device: DispiDevice(mode: config.initialMode, maxWidth: maxMode.width, maxHeight: maxMode.height,
                                               slotBytes: config.framebufferSlotBytes),
                           cpus: config.cpus, bootInfo: writer, events: events)
        bus = PortBus([console, doorbell, ExitPort(), YieldPort(), dispi])
        let mailboxes = vcpus.map(VCPUMailbox.init(vcpu:))
        crew = VCPUCrew(mailboxes: mailboxes,
                        lockstep: config.lockstep ? LockstepMeet(mailboxes: mailboxes, allFramesDone: events.allFramesDone) : nil,
                        quietEnd: config.frameLimit != nil ? .framesCompleted : .stopped)
    }

    /// The number of vCPUs.
    public var vcpuCount: Int { vcpus.count }

    /// The handle through which others reach vCPU `index` (0-based).
    public func vcpu(_ index: Int) -> VCPUHandle {
        precondition(vcpus.indices.contains(index), "no vCPU \(index)")
        return VCPUHandle(machine: self, index: index)
    }

    /// Walks every vCPU's dirty ring, in vCPU order (see `DirtyRingView.harvest`), and returns
    /// the entries collected. Callers serialize harvests: the walk keeps each ring's fetch
    /// index, so two walks at once would hand out the same entries twice. It may run while
    /// the vCPUs run; that is what the rings are for.
    public func harvestDirtyRings(_ body: (UInt32, UInt64) -> Void) -> Int {
        var n = 0
        for v in vcpus { n += v.harvestDirtyRing(body) }
        return n
    }
}
