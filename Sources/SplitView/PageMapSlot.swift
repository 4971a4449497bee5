/// One memory region shown in the migration panel of the split view: its pages, and which of
/// them are on the dirty page list this round.
public struct PageMapSlot {
    /// Label, e.g. `"RAM"` or `"framebuffer"`.
    public var name: String
    /// Pages in the region.
    public var pageCount: Int
    /// Whether page `i` (0 ..< pageCount) is dirty.
    public var isLit: (Int) -> Bool

    /// A slot whose dirty pages `isLit` reports.
    public init(name: String, pageCount: Int, isLit: @escaping (Int) -> Bool) {
        self.name = name
        self.pageCount = pageCount
        self.isLit = isLit
    }

    /// A slot whose dirty pages are the set bits of `litWords` (bit `i % 64` of word `i / 64`).
    public init(name: String, pageCount: Int, litWords: [UInt64]) {
        self.init(name: name, pageCount: pageCount) { page in
            page >> 6 < litWords.count && litWords[page >> 6] & (1 << UInt64(page & 63)) != 0
        }
    }
}
