import Synchronization

/// A reference set after the closures that read it were made (a session built with events).
public final class Box<T: AnyObject & Sendable>: Sendable {
    private let stored = Mutex<T?>(nil)
    public init() {}
    public var value: T? {
        get { stored.withLock { $0 } }
        set { stored.withLock { $0 = newValue } }
    }
}

/// Numbers appended from any thread.
public final class Counts: Sendable {
    private let v = Mutex<[Int]>([])
    public init() {}
    public func append(_ x: Int) { v.withLock { $0.append(x) } }
    public var values: [Int] { v.withLock { $0 } }
}
