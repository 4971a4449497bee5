import KVM
import Machine

/// Syncs nobody reads. With no display sink alive, a background sync (the sync loop's, a
/// migration round's or take's) only harvests and resets, so the rings never fill and every
/// migration subscriber still gets every page; the display's fold, shadow copy and damage
/// record are skipped, and the framebuffer's logging is off unless a migration subscriber
/// needs its pages, so the guest's frames cost it no write faults either. The first sync with
/// a reader again (a new sink, or any `sync()`) turns logging back on first, then copies the
/// whole frame and repaints every tile: the reader sees exactly the guest's picture.
extension TrackingSession {
    /// Whether some display sink is alive: the window, the PNG files, a VNC client, `--stats`.
    public var hasReaders: Bool {
        lock.lock(); defer { lock.unlock() }
        return hasReadersLocked
    }

    /// `hasReaders` under the lock (forgets the sinks their readers dropped).
    var hasReadersLocked: Bool {
        sinkRefs.removeAll { $0.sink == nil }
        return !sinkRefs.isEmpty
    }

    /// A sync for whoever reads: the whole sync while a display sink is alive, else only the
    /// harvest (`TrackingStats.idleSyncs` counts those). Returns the tiles repainted.
    @discardableResult
    public func syncForReaders() throws(KVMError) -> Int {
        lock.lock(); defer { lock.unlock() }
        return try syncLocked(nil, unreadIsIdle: true)
    }

    /// `take(_:sync:)`'s sync: a migration round needs the harvest, not the shadow.
    func syncForMigrationLocked() throws(KVMError) {
        _ = try syncLocked(nil, unreadIsIdle: true)
    }

    /// Harvest and reset only; the display stays idle. Frames rung for until now are shown to
    /// nobody, so they leave no doorbell-to-shadow latency.
    func idleSyncLocked() throws(KVMError) -> Int {
        _ = oldestUnshownDoorbell.exchange(0, ordering: .relaxed)
        display.idle = true
        let fb = GuestLayout.framebufferSlot
        // Entries the ring holds from before are harvested below and dropped by the idle display.
        if machine.config.dirtyLogging != .none && machine.isDirtyLogged(slot: fb) && !framebufferPinned {
            try machine.setDirtyLogging(slot: fb, enabled: false)
        }
        stats.recordIdleSync(try harvester.harvest())
        return 0
    }

    /// Leaves idle before a sync: logging of the framebuffer back on if the display logs it
    /// now (before the copy: a write after it is reported again, one before it is in the
    /// copy), and the sync copies the whole frame.
    func wakeDisplayLocked() throws(KVMError) {
        let fb = GuestLayout.framebufferSlot
        if displayLogsFramebuffer && !machine.isDirtyLogged(slot: fb) {
            try machine.setDirtyLogging(slot: fb, enabled: true)
        }
        display.idle = false
        display.copyAllOnce = true
        lastSyncStart = 0 // auto: no interval spans the idle time
        stats.recordDisplayWake()
    }

    /// Whether the display, awake, reads the framebuffer's dirty log (ring and bitmap, and
    /// auto while logged).
    private var displayLogsFramebuffer: Bool {
        guard machine.config.dirtyLogging != .none else { return false }
        switch plan.refresh {
        case .pages: return true
        case .adaptive: return display.method == .logged
        case .compare, .full: return false
        }
    }
}
