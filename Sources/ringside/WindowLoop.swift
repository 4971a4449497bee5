import Display
import Foundation
import GuestSession
import Input
import Machine
import PNGOutput
import Tracking
import Window

/// What `runWindowLoop` shows and how often.
struct WindowLoopOptions {
    /// Display frames per second (upload + present).
    var refreshHz: Double
    /// Tint repainted tiles from the start (D toggles).
    var showDirty: Bool
    /// Show the screen beside the migration panel (implies show-dirty at the start).
    var showSplit: Bool
    /// Whole-number nearest-neighbour zoom instead of filtered scaling.
    var nearest: Bool
    /// Window title; statistics are appended about once a second.
    var title: String
    /// With `showSplit`: end a migration round this often so the panel shows a live list;
    /// nil when someone else ends rounds (`--migration-rounds`).
    var migrationRoundSeconds: Double? = nil
    /// With `showSplit`: a second caption line with the outgoing migration's progress.
    var migrationStatus: (@Sendable () -> String)? = nil
    /// After `--frames N` completes, keep showing the final picture until the user closes
    /// the window (or `closeRequested` says so).
    var keepOpenAfterFrames = false
    /// When the user resizes the window, ask a guest that follows display-size requests for
    /// a mode of the window's size (off with `--fixed-mode`, and in the split view).
    var followWindowSize = true
    /// True once Ctrl-C or `--seconds` asked the run to end.
    var closeRequested: @Sendable () -> Bool = { false }
    /// Where the window's keys and pointer go (the guest's input queue, maybe logged).
    var input: (any InputSink)? = nil
    /// Ctrl+Alt+M: start the outgoing migration now; nil without --migrate-to.
    var migrateNow: (@Sendable () -> Void)? = nil
    /// With --vnc: connected clients and bytes sent per second, appended to the title's statistics.
    var vncCaption: (() -> String)? = nil
}

/// Runs the SDL window until the guest stops or the user closes it (then stops the guest).
/// Throws Failure("one line ... (try --headless)") when SDL cannot open a window or renderer.
///
/// Per display frame: the repainted tiles are copied out of the session's shadow while the
/// tracking lock is held (memcpy only), then tinted, scaled and presented after the lock is
/// released, so presenting never holds up a harvest.
func runWindowLoop(session: TrackingSession, options: WindowLoopOptions) throws {
    let grid = session.withDisplay { $0.grid }
    let window: DesktopWindow
    do {
        window = try DesktopWindow(grid: grid, options: .init(
            title: options.title, nearest: options.nearest, showDirty: options.showDirty || options.showSplit,
            split: options.showSplit, captionLines: options.migrationStatus == nil ? 1 : 2))
    } catch {
        session.machine.stop()
        throw Failure("\(error) (try --headless)")
    }
    try WindowLoop(session: session, window: window, options: options).run()
}

/// The state of the window's loop on the main thread: when the next display frame is due,
/// the statistics caption, the size the window was last seen at.
private final class WindowLoop {
    let session: TrackingSession
    let machine: Machine
    let window: DesktopWindow
    let options: WindowLoopOptions
    let sink: DisplaySink
    /// Seconds per display frame.
    let period: Double
    var next = Date()
    var statsStart = Date()
    var statsFrames: Int
    var caption = "guest -- frames/s, display -- frames/s"
    var nextRound: Date?
    /// Set once the guest stopped after --frames and the window stays open on its last frame.
    var stoppedNoted = false
    /// The window size last seen, and when it last changed: a drag resizes many times, and
    /// the guest is asked once the size has held still for a quarter of a second.
    var windowSize: (width: Int, height: Int)
    var resizedAt: Date?

    init(session: TrackingSession, window: DesktopWindow, options: WindowLoopOptions) {
        self.session = session
        machine = session.machine
        self.window = window
        self.options = options
        period = 1 / min(max(options.refreshHz, 1), 1000)
        window.input = options.input
        window.setTitle(options.title + " - " + Self.keys(options, machine) + " - starting")
        statsFrames = machine.totalFramesCompleted
        nextRound = options.migrationRoundSeconds.map { Date().addingTimeInterval($0) }
        sink = session.makeDisplaySink(name: "window")
        windowSize = window.size
    }

    func run() throws {
        while !options.closeRequested() {
            guard keepOpen() else { break }
            for command in window.pollCommands(waitingUpTo: next.timeIntervalSinceNow) {
                if case .quit = command {
                    machine.stop()
                    return
                }
                handle(command)
            }
            let now = Date()
            guard now >= next else { continue }
            next = max(next.addingTimeInterval(period), now)
            try showFrame()
            followWindowSize(now)
            updateCaption(now)
            if let due = nextRound, now >= due, let seconds = options.migrationRoundSeconds {
                _ = session.endMigrationRound()
                nextRound = max(due.addingTimeInterval(seconds), now)
            }
        }
    }

    /// False once the guest has stopped, unless --frames completed and the window stays open.
    private func keepOpen() -> Bool {
        guard let outcome = machine.finishedOutcome else { return true }
        guard case .framesCompleted = outcome, options.keepOpenAfterFrames else { return false }
        if !stoppedNoted {
            stoppedNoted = true
            caption = "guest stopped at frame \(machine.framesCompletedByEveryVCPU): Ctrl+Alt+Q or closing the window ends"
            window.setTitle(options.title + " - " + caption)
        }
        return true
    }

    private func handle(_ command: WindowCommand) {
        switch command {
        case .quit: break
        case .migrate:
            if let migrateNow = options.migrateNow {
                migrateNow()
            } else {
                Console.error("Ctrl+Alt+M migrates the guest, but there is nowhere to go: start ringside with --migrate-to HOST:PORT")
            }
        case .screenshot:
            let path = FileManager.default.currentDirectoryPath + "/ringside-\(machine.framesCompletedByEveryVCPU).png"
            do {
                try PNGWriter.write(window.screen, to: path)
                Console.out("screenshot: \(path)")
            } catch {
                Console.error("screenshot: \(error)")
            }
        }
    }

    /// Uploads the tiles repainted since the last frame (and the split view's panel), then presents.
    private func showFrame() throws {
        let cursor = session.read(sink) { display, dirty in
            // A guest mode set: the window keeps its size and letterboxes the new screen.
            if display.grid.geometry != window.grid.geometry { window.resizeContent(to: display.grid) }
            window.upload(from: display.shadow, dirty: dirty)
            return session.cursorLocked
        }
        window.showCursor(cursor)
        if options.showSplit, let list = session.migration {
            let (round, pages) = session.pendingPages(of: list)  // copy-on-write: the bitmaps are shared, not copied
            window.setMigrationPanel(slots: MigrationPanel.slots(of: machine, lit: pages), round: round,
                                     caption: [caption] + (options.migrationStatus.map { [$0()] } ?? []))
        }
        do { try window.present() } catch {
            machine.stop()
            throw Failure("\(error) (try --headless)")
        }
    }

    /// Asks a guest that follows display-size requests for the window's size, once it held still.
    private func followWindowSize(_ now: Date) {
        guard options.followWindowSize && !options.showSplit else { return }
        let size = window.size
        if size != windowSize {
            windowSize = size
            resizedAt = now
        } else if let t = resizedAt, now.timeIntervalSince(t) >= 0.25 {
            resizedAt = nil
            machine.askForDisplaySize(width: size.width, height: size.height)
        }
    }

    /// About once a second: the guest's and the window's rates in the title.
    private func updateCaption(_ now: Date) {
        let elapsed = now.timeIntervalSince(statsStart)
        guard elapsed >= 1 && !stoppedNoted else { return }
        let frames = machine.totalFramesCompleted
        let s = window.takeIntervalStats()
        let guestRate = Double(frames - statsFrames) / Double(machine.config.cpus) / elapsed
        caption = String(format: "guest %.1f frames/s, display %.1f frames/s, %.1f dirty tiles/frame, upload %.2f ms, present %.2f ms",
                         guestRate, Double(s.frames) / elapsed, s.tilesPerFrame, s.averageUploadMilliseconds,
                         s.averagePresentMilliseconds)
        if let vnc = options.vncCaption { caption += ", " + vnc() }
        window.setTitle(options.title + " - " + Self.keys(options, machine) + " - " + caption)
        statsStart = now
        statsFrames = frames
    }

    /// The title says where keys go: to the guest once it says it reads them.
    private static func keys(_ options: WindowLoopOptions, _ machine: Machine) -> String {
        options.input == nil ? "Ctrl+Alt+Q quits"
            : machine.input.guestReadsInput ? "keys and pointer go to the guest, Ctrl+Alt+Q quits"
            : "input forwarded (the guest does not read it yet), Ctrl+Alt+Q quits"
    }
}
