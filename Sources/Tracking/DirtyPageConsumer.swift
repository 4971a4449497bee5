/// Something fed by each harvest: the display's tile fold, the migration list.
/// The harvest knows nothing else about who consumes it.
public protocol DirtyPageConsumer: AnyObject {
    /// Memory slots this consumer wants; the harvest logs RAM only if someone asks for it.
    var wantsSlots: Set<UInt32> { get }
    /// One batch of deduplicated dirty pages of `slot`, delivered after the harvest's reset,
    /// so reading their contents now is safe: later writes will be reported again.
    func consume(slot: UInt32, pages: UnsafeBufferPointer<UInt64>)
}
