import Foundation
import Synchronization

/// One VNC client that asks for the next update as soon as one arrives, on a thread of its
/// own, until `stop()`: the speed cells' "one client". The connection is made on the caller's
/// thread (a failure is thrown there) and from then on used only by the client's thread.
final class BusyClient: Sendable {
    /// Locked once, by the client's thread, for as long as it runs.
    private let client: Mutex<RFBBenchClient>
    private let poller = Poller(name: "busy-client")

    init(port: Int, encoding: RFBBenchClient.Encoding) throws {
        client = Mutex(try RFBBenchClient(host: "127.0.0.1", port: port, encoding: encoding))
        client.withLock { $0.request(incremental: false) }
        poller.start { [self] in
            client.withLock { c in
                // An update, then the next request; none within 2 s: look at `stop` and wait again.
                if (try? c.readUpdate(deadline: DispatchTime.now().uptimeNanoseconds + 2_000_000_000)) != nil {
                    c.request(incremental: true)
                }
            }
            return 0
        }
    }

    /// Ends the client's thread after the update it is reading.
    func stop() { poller.stop() }
}
