import Foundation

/// The bench's picture, as SVG written by hand: host cost per frame against the workload's
/// dirty fraction (one panel per resolution, one line per mode, log-log), and against guest
/// RAM size for the modes that log RAM (ring, bitmap) at one resolution.
public enum BenchChart {
    static let modeColors: [String: String] = [
        "ring": "#d62728", "bitmap": "#1f77b4", "compare": "#2ca02c", "full": "#ff7f0e",
    ]
    static let modeOrder = ["ring", "bitmap", "compare", "full"]

    /// The dirty fraction of a workload at a resolution: tiles repainted per frame over tiles
    /// on screen, as the ring (else bitmap, else compare) measured it; full repaints everything
    /// whatever changed, so it does not say.
    static func dirtyFractions(_ records: [BenchRecord], tileWidth: Int, tileHeight: Int) -> [String: Double] {
        var out: [String: Double] = [:]
        for mode in ["compare", "bitmap", "ring"] { // later modes win
            for r in records where r.mode == mode {
                guard let tiles = r.dirtyTiles else { continue }
                let total = Double(((r.width + tileWidth - 1) / tileWidth) * ((r.height + tileHeight - 1) / tileHeight))
                out[key(r)] = tiles / total
            }
        }
        return out
    }

    static func key(_ r: BenchRecord) -> String { "\(r.guest) \(r.width)x\(r.height)" }

    /// An SVG document (UTF-8 text).
    public static func svg(_ records: [BenchRecord], tileWidth: Int = 64, tileHeight: Int = 16, subtitle: String = "") -> String {
        // One line per mode: with several sink counts, the fewest sinks (the others differ only
        // by their reads, which the table reports).
        let fewestSinks = records.map(\.sinks).min() ?? 1
        let usable = records.filter { $0.hostMedianMicros != nil && $0.sinks == fewestSinks }
        var resolutions: [(Int, Int)] = []
        for r in usable where !resolutions.contains(where: { $0 == (r.width, r.height) }) { resolutions.append((r.width, r.height)) }
        resolutions.sort { $0.0 * $0.1 < $1.0 * $1.1 }
        let ramSizes = Set(usable.filter { $0.mode == "ring" || $0.mode == "bitmap" }.map(\.ramBytes))
        let panelRows = (min(resolutions.count, 4) + 1) / 2
        let ramTop = 110 + Double(panelRows) * 350
        let height = ramTop + (ramSizes.count >= 2 ? 330 : 60)

        var s = SVG(width: 1280, height: max(height, 400))
        s.text(640, 30, "Ringside bench: host cost per frame (lockstep median, µs; log scales)", size: 20, anchor: "middle", weight: "bold")
        if !subtitle.isEmpty { s.text(640, 52, subtitle, size: 12, anchor: "middle", color: "#555") }
        legend(&s, x: 900, y: 76)
        guard !usable.isEmpty else {
            s.text(640, 200, "no measurements", size: 16, anchor: "middle")
            return s.document
        }
        let fractions = dirtyFractions(usable, tileWidth: tileWidth, tileHeight: tileHeight)
        let smallestRAM = usable.map(\.ramBytes).min()!
        let lowest = usable.compactMap(\.hostMedianMicros).min()!
        let highest = max(usable.compactMap(\.hostMedianMicros).max()!, 16_667)
        let yRange = (pow(10, floor(log10(max(lowest, 0.1)))), pow(10, ceil(log10(highest))))

        // Panels: host cost against dirty fraction, one per resolution (the four smallest).
        for (n, res) in resolutions.prefix(4).enumerated() {
            let rows = usable.filter { $0.width == res.0 && $0.height == res.1 && $0.ramBytes == smallestRAM }
            fractionPanel(&s, n: n, resolution: res, ram: smallestRAM, rows: rows, fractions: fractions, yRange: yRange)
        }
        // Host cost against RAM size (ring and bitmap log RAM for the migration list).
        let reference = resolutions.first(where: { $0 == (1920, 1080) }) ?? resolutions.last!
        ramPanels(&s, rows: usable.filter { $0.width == reference.0 && $0.height == reference.1 && ($0.mode == "ring" || $0.mode == "bitmap") },
                  resolution: reference, top: ramTop)
        return s.document
    }

    static let panelWidth = 540.0

    /// Panel `n`: host µs per frame against the dirty fraction at one resolution, a line per mode.
    static func fractionPanel(_ s: inout SVG, n: Int, resolution res: (Int, Int), ram: UInt64, rows: [BenchRecord],
                              fractions: [String: Double], yRange: (Double, Double)) {
        let px = 90 + Double(n % 2) * 630, py = 110 + Double(n / 2) * 350
        let plot = Plot(x: px, y: py, width: panelWidth, height: 270, xRange: (1e-4, 1), yRange: yRange)
        plot.frame(&s, title: "\(res.0)x\(res.1), \(formatBytes(ram)) RAM: host µs per frame vs dirty fraction",
                   xLabel: "tiles repainted per frame, mean (fraction of the screen); bursty guests sit low", yLabel: "µs/frame")
        plot.xDecades(&s) { d in d >= 1 ? "100%" : formatPercent(d) }
        plot.yDecades(&s)
        plot.budgetLine(&s, 16_667, "16.7 ms = 60 Hz")
        guestNames(&s, plot: plot, rows: rows, fractions: fractions)
        for mode in modeOrder {
            let points: [(Double, Double)] = rows.filter { $0.mode == mode }.compactMap { r in
                guard let f = fractions[key(r)], let us = r.hostMedianMicros else { return nil }
                return (max(f, 1e-4), us)
            }.sorted { $0.0 < $1.0 }
            plot.series(&s, points, color: modeColors[mode] ?? "#000", dashed: false)
        }
    }

    /// Guest names along the bottom of a panel, at their dirty fraction, each on the lowest of
    /// five levels where it overlaps no other name.
    static func guestNames(_ s: inout SVG, plot: Plot, rows: [BenchRecord], fractions: [String: Double]) {
        var guests: [(String, Double)] = []
        for r in rows where !guests.contains(where: { $0.0 == r.guest }) {
            if let f = fractions[key(r)] { guests.append((r.guest, f)) }
        }
        guests.sort { $0.1 < $1.1 }
        var levels = [[(Double, Double)]](repeating: [], count: 5)
        for g in guests {
            let gx = plot.px(max(g.1, 1e-4))
            s.line(gx, plot.y + plot.height, gx, plot.y + plot.height - 6, color: "#999")
            let w = Double(g.0.count) * 6 + 6
            let right = gx + 3 + w > plot.x + plot.width
            let start = right ? gx - 3 - w : gx + 3
            let level = levels.firstIndex(where: { $0.allSatisfy { start >= $0.1 || start + w <= $0.0 } }) ?? levels.count - 1
            levels[level].append((start, start + w))
            s.text(right ? gx - 3 : gx + 3, plot.y + plot.height - 8 - Double(level) * 12, g.0, size: 10,
                   anchor: right ? "end" : "start", color: "#666")
        }
    }

    /// Two panels against guest RAM at one resolution: host µs per frame, and harvest + reset;
    /// ring solid, bitmap dashed, a line per guest. A note instead with fewer than two sizes.
    static func ramPanels(_ s: inout SVG, rows ramRows: [BenchRecord], resolution reference: (Int, Int), top: Double) {
        let rams = Array(Set(ramRows.map(\.ramBytes))).sorted()
        if rams.count < 2 {
            s.text(640, top, "host cost against RAM size: run with two or more --ram sizes (ring and bitmap log RAM for the migration list)",
                   size: 13, anchor: "middle", color: "#555")
            return
        }
        // Room on the right for the line labels.
        let xr = (Double(rams.first!) / Double(1 << 30) / 1.5, Double(rams.last!) / Double(1 << 30) * 8)
        let metrics: [(String, (BenchRecord) -> Double?)] = [
            ("host µs per frame", { $0.hostMedianMicros }),
            ("harvest + reset µs per frame", { r in r.harvestMicros.flatMap { h in r.resetMicros.map { h + $0 } } }),
        ]
        for (n, metric) in metrics.enumerated() {
            let values = ramRows.compactMap(metric.1).filter { $0 > 0 }
            guard let lo = values.min(), let hi = values.max() else { continue }
            let yr = (pow(10, floor(log10(max(lo, 0.1)))), pow(10, ceil(log10(max(hi, lo * 10)))))
            let plot = Plot(x: 90 + Double(n) * 630, y: top, width: panelWidth, height: 250, xRange: xr, yRange: yr)
            plot.frame(&s, title: "\(reference.0)x\(reference.1): \(metric.0) vs guest RAM (ring solid, bitmap dashed)",
                       xLabel: "guest RAM (logged for the migration list)", yLabel: "µs/frame")
            for ram in rams {
                let x = plot.px(Double(ram) / Double(1 << 30))
                s.line(x, plot.y + plot.height, x, plot.y + plot.height + 5, color: "#333")
                s.text(x, plot.y + plot.height + 18, formatBytes(ram), size: 11, anchor: "middle")
            }
            plot.yDecades(&s)
            ramLines(&s, plot: plot, rows: ramRows, metric: metric.1, floor: yr.0)
        }
    }

    /// A line per (mode, guest) against RAM, labelled at its right end.
    static func ramLines(_ s: inout SVG, plot: Plot, rows ramRows: [BenchRecord], metric: (BenchRecord) -> Double?, floor: Double) {
        var labelled: [Double] = []
        for mode in ["ring", "bitmap"] {
            var guests: [String] = []
            for r in ramRows where r.mode == mode && !guests.contains(r.guest) { guests.append(r.guest) }
            for g in guests {
                let points: [(Double, Double)] = ramRows.filter { $0.mode == mode && $0.guest == g }.compactMap { r in
                    metric(r).map { (Double(r.ramBytes) / Double(1 << 30), max($0, floor)) }
                }.sorted { $0.0 < $1.0 }
                plot.series(&s, points, color: modeColors[mode]!, dashed: mode == "bitmap")
                if let last = points.last {
                    var y = plot.py(last.1)
                    while labelled.contains(where: { abs($0 - y) < 10 }) { y += 10 }
                    labelled.append(y)
                    s.text(plot.px(last.0) + 6, y + 3, "\(g) \(mode)", size: 9, color: modeColors[mode]!)
                }
            }
        }
    }

    static func legend(_ s: inout SVG, x: Double, y: Double) {
        for (i, mode) in modeOrder.enumerated() {
            let lx = x + Double(i) * 90
            s.line(lx, y, lx + 24, y, color: modeColors[mode]!, width: 3)
            s.text(lx + 30, y + 4, mode, size: 13)
        }
    }
}

func formatPercent(_ fraction: Double) -> String {
    let p = fraction * 100
    return p >= 1 ? String(format: "%.0f%%", p) : String(format: "%g%%", p)
}

/// A log-log plot area.
struct Plot {
    let x: Double, y: Double, width: Double, height: Double
    let xRange: (Double, Double), yRange: (Double, Double)

    func px(_ v: Double) -> Double {
        x + (log10(v) - log10(xRange.0)) / (log10(xRange.1) - log10(xRange.0)) * width
    }
    func py(_ v: Double) -> Double {
        let t = (log10(max(v, yRange.0)) - log10(yRange.0)) / (log10(yRange.1) - log10(yRange.0))
        return y + height - min(max(t, 0), 1) * height
    }

    func frame(_ s: inout SVG, title: String, xLabel: String, yLabel: String) {
        s.rect(x, y, width, height, fill: "#fbfbfb", stroke: "#333")
        s.text(x + width / 2, y - 10, title, size: 13, anchor: "middle", weight: "bold")
        s.text(x + width / 2, y + height + 36, xLabel, size: 12, anchor: "middle", color: "#333")
        s.text(x - 8, y - 10, yLabel, size: 11, anchor: "end", color: "#333")
    }

    func xDecades(_ s: inout SVG, _ label: (Double) -> String) {
        var d = xRange.0
        while d <= xRange.1 * 1.0001 {
            let gx = px(d)
            s.line(gx, y, gx, y + height, color: "#e4e4e4")
            s.text(gx, y + height + 16, label(d), size: 11, anchor: "middle")
            d *= 10
        }
    }

    func yDecades(_ s: inout SVG) {
        var d = yRange.0
        while d <= yRange.1 * 1.0001 {
            let gy = py(d)
            s.line(x, gy, x + width, gy, color: "#e4e4e4")
            s.text(x - 6, gy + 4, formatMicros(d), size: 11, anchor: "end")
            d *= 10
        }
    }

    func budgetLine(_ s: inout SVG, _ us: Double, _ label: String) {
        guard us >= yRange.0 && us <= yRange.1 else { return }
        let gy = py(us)
        s.line(x, gy, x + width, gy, color: "#888", dash: "6,4")
        s.text(x + 6, gy - 4, label, size: 10, color: "#666")
    }

    func series(_ s: inout SVG, _ points: [(Double, Double)], color: String, dashed: Bool) {
        guard !points.isEmpty else { return }
        let coords = points.map { (px($0.0), py($0.1)) }
        if coords.count > 1 { s.polyline(coords, color: color, dash: dashed ? "7,4" : nil) }
        for c in coords { s.circle(c.0, c.1, 3.5, fill: color) }
    }
}

/// `1`, `10`, `100`, `1k`, `10k`, `1M` (µs).
func formatMicros(_ us: Double) -> String {
    if us >= 1e6 { return String(format: "%gM", us / 1e6) }
    if us >= 1e3 { return String(format: "%gk", us / 1e3) }
    return String(format: "%g", us)
}

/// A minimal SVG writer.
struct SVG {
    let width: Double, height: Double
    private var body: [String] = []

    init(width: Double, height: Double) {
        self.width = width
        self.height = height
    }

    var document: String {
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" "
            + "font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\">\n"
            + "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n" + body.joined(separator: "\n") + "\n</svg>\n"
    }

    private func f(_ v: Double) -> String { String(format: "%.1f", v) }

    mutating func line(_ x1: Double, _ y1: Double, _ x2: Double, _ y2: Double, color: String, width: Double = 1, dash: String? = nil) {
        body.append("<line x1=\"\(f(x1))\" y1=\"\(f(y1))\" x2=\"\(f(x2))\" y2=\"\(f(y2))\" stroke=\"\(color)\" stroke-width=\"\(f(width))\""
            + (dash.map { " stroke-dasharray=\"\($0)\"" } ?? "") + "/>")
    }

    mutating func rect(_ x: Double, _ y: Double, _ w: Double, _ h: Double, fill: String, stroke: String) {
        body.append("<rect x=\"\(f(x))\" y=\"\(f(y))\" width=\"\(f(w))\" height=\"\(f(h))\" fill=\"\(fill)\" stroke=\"\(stroke)\"/>")
    }

    mutating func circle(_ x: Double, _ y: Double, _ r: Double, fill: String) {
        body.append("<circle cx=\"\(f(x))\" cy=\"\(f(y))\" r=\"\(f(r))\" fill=\"\(fill)\"/>")
    }

    mutating func polyline(_ points: [(Double, Double)], color: String, dash: String?) {
        let p = points.map { "\(f($0.0)),\(f($0.1))" }.joined(separator: " ")
        body.append("<polyline points=\"\(p)\" fill=\"none\" stroke=\"\(color)\" stroke-width=\"2\""
            + (dash.map { " stroke-dasharray=\"\($0)\"" } ?? "") + "/>")
    }

    mutating func text(_ x: Double, _ y: Double, _ text: String, size: Double, anchor: String = "start",
                       color: String = "#111", weight: String = "normal", rotate: Double? = nil) {
        let escaped = text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;")
        let transform = rotate.map { " transform=\"rotate(\(f($0)) \(f(x)) \(f(y)))\"" } ?? ""
        body.append("<text x=\"\(f(x))\" y=\"\(f(y))\" font-size=\"\(f(size))\" text-anchor=\"\(anchor)\" fill=\"\(color)\" font-weight=\"\(weight)\"\(transform)>\(escaped)</text>")
    }
}
