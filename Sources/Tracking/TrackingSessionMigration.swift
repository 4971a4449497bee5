import KVM
import Machine

/// Migration subscribers: each accumulates the dirty pages of every slot until it takes them.
extension TrackingSession {
    /// A new migration subscriber, starting with every page of every slot dirty. The first
    /// subscriber turns on dirty logging of guest RAM while the guest runs.
    public func subscribeMigration() throws(TrackingError) -> MigrationSubscriber {
        guard plan.mode.hasPageList else { throw .noPageList(plan.mode) }
        lock.lock(); defer { lock.unlock() }
        let sub = MigrationSubscriber(pageCounts: machine.slots.map { ($0.id, $0.pageCount) })
        harvester.subscribe(sub)
        do {
            // Auto mode keeps the framebuffer logged while a subscriber needs its pages.
            if let method = auto?.pinLogged() { try switchDisplay(to: method, because: .migration) }
            // Pages written before logging starts are covered: the new set holds every page.
            for slot in machine.slots where !machine.isDirtyLogged(slot: slot.id) {
                try machine.setDirtyLogging(slot: slot.id, enabled: true)
            }
        } catch {
            harvester.unsubscribe(sub)
            throw .machine(.kvm(error))
        }
        return sub
    }

    /// Removes a subscriber. When no consumer wants a slot any more, its logging stops.
    public func unsubscribe(_ sub: MigrationSubscriber) throws(KVMError) {
        lock.lock(); defer { lock.unlock() }
        harvester.unsubscribe(sub)
        for slot in machine.slots where !harvester.isWanted(slot: slot.id) && machine.isDirtyLogged(slot: slot.id) {
            try machine.setDirtyLogging(slot: slot.id, enabled: false)
        }
    }

    /// Hands over every page `sub` accumulated and starts a new set. With `sync` (the
    /// default), harvests first, so the set includes everything written until now (with no
    /// display sink alive, only the harvest: the display stays idle).
    public func take(_ sub: MigrationSubscriber, sync: Bool = true) throws(KVMError) -> MigrationPageSet {
        lock.lock(); defer { lock.unlock() }
        if sync { try syncForMigrationLocked() }
        return sub.take()
    }

    /// Merges a set that could not be sent back into `sub`, so the next take includes it.
    public func giveBack(_ set: MigrationPageSet, to sub: MigrationSubscriber) {
        lock.lock(); defer { lock.unlock() }
        sub.giveBack(set)
    }

    /// What `sub` has accumulated since its last take (for pictures of the list).
    public func pendingPages(of sub: MigrationSubscriber) -> (round: Int, pages: MigrationPageSet) {
        lock.lock(); defer { lock.unlock() }
        return pendingPagesLocked(of: sub)
    }

    /// `pendingPages(of:)` for a caller already inside `read`, `withDisplay` or a sync's body.
    public func pendingPagesLocked(of sub: MigrationSubscriber) -> (round: Int, pages: MigrationPageSet) {
        sub.pendingWithRound
    }

    /// One round of the boot-time subscriber: its number and the pages taken (no sync).
    public struct Round: Sendable {
        public var number: Int
        public var pages: MigrationPageSet
        public var total: Int { pages.total }
    }

    /// Takes the boot-time subscriber's pages as a round (without a sync of its own).
    public func endMigrationRound() -> Round? {
        lock.lock(); defer { lock.unlock() }
        guard let migration else { return nil }
        let n = migration.round
        return Round(number: n, pages: migration.take())
    }
}
