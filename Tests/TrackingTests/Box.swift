import Synchronization

/// A reference set after the closures that read it were made (a session built with events).
final class Box<T: AnyObject & Sendable>: Sendable {
    private let stored = Mutex<T?>(nil)
    var value: T? {
        get { stored.withLock { $0 } }
        set { stored.withLock { $0 = newValue } }
    }
}

final class Counts: Sendable {
    private let v = Mutex<[Int]>([])
    func append(_ x: Int) { v.withLock { $0.append(x) } }
    var values: [Int] { v.withLock { $0 } }
}
