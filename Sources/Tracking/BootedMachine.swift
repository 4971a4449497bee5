import KVM
import Machine

/// A machine built for tracking: its dirty logging set from a plan, its ring-full exits
/// routed to the session that will harvest it (`RingFullRelay`), and the plan as it was
/// really carried out. Hand it to `TrackingSession.init(_:tile:writeFaultNanos:)`.
///
/// Building it is where the ring falls back: when the kernel refuses the dirty ring at
/// `KVM_ENABLE_CAP`, the machine is built again with the bitmap, and the plan says why.
public struct BootedMachine: Sendable {
    public let machine: Machine
    /// The plan carried out: the one asked for, or its bitmap fallback.
    public let plan: TrackingPlan
    /// Guest RAM is logged from boot, for a migration subscriber made with the session.
    public let logsRAM: Bool
    let system: KVMSystem
    let ringFull: RingFullRelay

    /// What the new machine holds at start.
    public enum Contents: Sendable {
        /// The image, booted (`Machine.init(system:config:events:)`).
        case boot
        /// A snapshot's state and pages, which reach the display at the first sync.
        case restoring(MachineSnapshot)
        /// Nothing yet: a migration destination fills it.
        case incoming
    }

    /// Builds the machine for `plan` (logging RAM too when `migration`), with `events` and a
    /// ring-full handler that harvests into the session made from it.
    public init(system: KVMSystem, config baseConfig: MachineConfig, plan requested: TrackingPlan, migration: Bool,
                events: MachineEvents = MachineEvents(), contents: Contents = .boot) throws(TrackingError) {
        var config = baseConfig
        config.logRAM = migration
        config.dirtyLogging = requested.logging
        let relay = RingFullRelay()
        let events = relay.routing(events)
        var plan = requested
        let m: Machine
        do {
            m = try Self.build(system: system, config: config, events: events, contents: contents)
        } catch MachineError.kvm(let e) where (plan.mode == .ring || plan.mode == .auto) && e.isDirtyRingRefusal {
            plan = Self.bitmapFallback(for: plan, system: system, why: "the kernel refused the dirty ring (\(e)); using KVM_GET_DIRTY_LOG")
            config.dirtyLogging = plan.logging
            do { m = try Self.build(system: system, config: config, events: events, contents: contents) } catch { throw .machine(error) }
        } catch {
            throw .machine(error)
        }
        machine = m
        self.plan = plan
        logsRAM = migration
        self.system = system
        ringFull = relay
    }

    private static func build(system: KVMSystem, config: MachineConfig, events: MachineEvents,
                              contents: Contents) throws(MachineError) -> Machine {
        switch contents {
        case .boot: return try Machine(system: system, config: config, events: events)
        case .restoring(let snapshot): return try Machine(system: system, config: config, events: events, restoring: snapshot)
        case .incoming: return try Machine(system: system, incoming: config, events: events)
        }
    }

    /// `plan` with the bitmap instead of the ring (auto stays auto, logging with the bitmap).
    private static func bitmapFallback(for plan: TrackingPlan, system: KVMSystem, why: String) -> TrackingPlan {
        let caps = (try? HostCapabilities(system: system)) ?? HostCapabilities.none
        let fallback = TrackingPlan.bitmapPlan(requested: .ring, caps: caps, why: why)
        guard plan.mode == .auto else { return fallback }
        return TrackingPlan(requested: .auto, mode: .auto, logging: fallback.logging, reason: "adaptive: " + fallback.reason)
    }
}

extension HostCapabilities {
    static let none = HostCapabilities(apiVersion: 12, dirtyRingAcqRelBytes: 0, dirtyRingBytes: 0, manualProtect: 0, recommendedVCPUs: 1, maxVCPUs: 1)
}
