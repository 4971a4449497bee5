import Dispatch
import Foundation
import MigrationWire

/// Whether a source compresses its page batches (`--migrate-compress`).
public enum CompressionMode: String, Sendable, CaseIterable {
    /// Measure the link and this CPU's zlib during round 0, then compress if it pays.
    case auto
    /// Compress whenever the destination reads compressed batches.
    case on
    /// Never: the hello asks for nothing, and the stream is protocol 4's as before compression.
    case off
}

/// Compresses a source's `pages` frames (zlib level 1) when that makes the migration faster,
/// and keeps the figures for the report. In `auto` the first `probeBytes` of page frames go out
/// as they are while a copy of one in `probeSample` is compressed on the side: the link's rate `L` (raw bytes
/// over the time sending them took, the bandwidth limit included) against zlib's rate `C` here
/// and its ratio `r` decide. Sending compressed costs `1/C + r/L` a byte, raw `1/L`, so it is on
/// when `L < C (1 - r)`, with a margin of 10%. A batch that does not shrink goes out as it is.
final class PageCompressor {
    static let probeBytes = 16 << 20
    static let level: Int32 = 1
    private(set) var mode: CompressionMode
    /// nil while probing; then whether batches are compressed.
    private(set) var enabled: Bool?
    /// Why it is on or off, once decided (for the progress line).
    private(set) var decision: String?
    private var stats = MigrationReport.Compression()
    /// During the probe, one batch in this many is compressed on the side (the rest cost nothing).
    static let probeSample = 4
    private var probeBatches = 0, probeSent = 0
    /// The sampled batches: their bytes, deflated, and the time zlib took.
    private var probeRaw = 0, probeDeflated = 0
    private var probeSendNanos: UInt64 = 0, probeCompressNanos: UInt64 = 0
    private var scratch: [UInt8] = []

    /// `peerReads`: whether the destination's hello has the capability.
    init(mode: CompressionMode, peerReads: Bool) {
        self.mode = mode
        stats.mode = mode.rawValue
        switch (mode, peerReads) {
        case (.off, _): enabled = false; decision = "off"
        case (_, false): enabled = false; decision = "off (the destination does not read compressed pages)"
        case (.on, true): enabled = true; decision = "on"
        case (.auto, true): enabled = nil
        }
    }

    /// The frame to send for the `pages` frame `frame`: compressed when that is on and makes it smaller.
    func frameToSend(_ frame: [UInt8]) -> [UInt8] {
        stats.rawBytes += frame.count
        stats.batches += 1
        guard enabled != false else { stats.wireBytes += frame.count; return frame }
        if enabled == nil { // probing: the link's rate from every batch, zlib's from one in `probeSample`
            probeBatches += 1
            probeSent += frame.count
            stats.wireBytes += frame.count
            guard probeBatches % Self.probeSample == 1 else { return frame }
        }
        scratch.removeAll(keepingCapacity: true)
        let t0 = DispatchTime.now().uptimeNanoseconds
        let shrank = MigrationWire.compressPagesFrame(frame, level: Self.level, into: &scratch)
        let spent = DispatchTime.now().uptimeNanoseconds - t0
        stats.compressSeconds += Double(spent) / 1e9
        if enabled == nil { // a sample: measured, sent as it is
            probeRaw += frame.count
            probeDeflated += shrank ? scratch.count : frame.count
            probeCompressNanos += spent
            return frame
        }
        guard shrank else { stats.wireBytes += frame.count; return frame }
        stats.compressedBatches += 1
        stats.wireBytes += scratch.count
        return scratch
    }

    /// The time sending a frame took (and keeping to the bandwidth limit): while probing, the link's rate.
    func sent(nanos: UInt64) {
        guard enabled == nil else { return }
        probeSendNanos += nanos
        if probeSent >= Self.probeBytes { decide() }
    }

    /// Decides with what the probe measured (at the end of round 0 at the latest).
    func decide() {
        guard enabled == nil else { return }
        guard probeRaw > 0, probeSendNanos > 0, probeCompressNanos > 0 else {
            enabled = false; decision = "off (nothing to measure the link with)"; return
        }
        let link = Double(probeSent) / (Double(probeSendNanos) / 1e9)
        let zlib = Double(probeRaw) / (Double(probeCompressNanos) / 1e9)
        let ratio = Double(probeDeflated) / Double(probeRaw)
        enabled = link < 0.9 * zlib * (1 - ratio)
        decision = String(format: "%@ (link %.0f MiB/s, zlib %.0f MiB/s here at ratio %.2f: %@)", enabled! ? "on" : "off",
                          link / 1048576, zlib / 1048576, ratio, enabled! ? "the link is the slower" : "compressing would not pay")
    }

    /// The figures so far.
    var report: MigrationReport.Compression {
        var r = stats
        r.used = stats.compressedBatches > 0
        r.decision = decision ?? "probing"
        return r
    }
}
