extension Machine {
    /// Walks every vCPU's dirty ring in order (see `DirtyRingView.harvest`), handing each
    /// `(slot, page)` to `body`; returns the entries walked. Callers serialize harvests.
    public func harvestDirtyRings(_ body: (UInt32, UInt64) -> Void) -> Int {
        var n = 0
        for vcpu in vcpus { n += vcpu.harvestDirtyRing(body) }
        return n
    }
}
