import Display

/// Display sinks: each reads the damage log at its own pace, under the session lock.
extension TrackingSession {
    /// A new display sink. Its first read returns every tile. While it lives the session has
    /// a reader, so the sync loop's syncs do the whole work again; if the display was idle,
    /// the shadow is brought up to date (the whole frame) before this returns.
    public func makeDisplaySink(name: String) -> DisplaySink {
        lock.lock(); defer { lock.unlock() }
        // A failure leaves the display waking or idle; the next sync, which now has a reader,
        // tries again and reports the error (the sync loop then stops the machine).
        if display.idle { _ = try? syncLocked(nil) }
        let sink = DisplaySink(name: name, damage: display.damage)
        sinkRefs.append(WeakDisplaySink(sink: sink))
        return sink
    }

    /// Under the lock, hands `body` the shadow and exactly the tiles repainted since `sink`
    /// last read, and moves the sink to now. Copy out inside `body`; present after it returns,
    /// so presenting never holds up a harvest. The sink pays for its own query; nothing else does.
    public func read<R>(_ sink: DisplaySink, _ body: (DisplayTracker, DirtyTileBitmap) throws -> R) rethrows -> R {
        lock.lock(); defer { lock.unlock() }
        let changed = sink.advance(in: display.damage)
        return try body(display, changed)
    }

    /// Whether `sink` would get any tile from `read` now.
    public func hasChanges(for sink: DisplaySink) -> Bool {
        lock.lock(); defer { lock.unlock() }
        return sink.hasChanges(in: display.damage)
    }

    /// Runs `body` under the session lock (reading the shadow between syncs).
    public func withDisplay<R, E: Error>(_ body: (DisplayTracker) throws(E) -> R) throws(E) -> R {
        lock.lock(); defer { lock.unlock() }
        return try body(display)
    }

    /// Registers `body`, called under the lock after every sync that repainted a tile. It must
    /// not block or take the session's lock (hand the work to another thread).
    public func onSync(_ body: @escaping @Sendable () -> Void) {
        lock.lock(); defer { lock.unlock() }
        syncObservers.append(body)
    }

    /// Starts ageing a heatmap of repainted tiles at every sync (see `heat`).
    public func trackHeat() {
        lock.lock(); defer { lock.unlock() }
        if heat == nil { heat = DirtyHeatmap(count: display.grid.count) }
    }
}
