extension MigrationWire {
    /// Decodes one frame body (the bytes after the length). Every count is checked against
    /// its limit before anything is allocated for it.
    public static func decode(_ body: [UInt8]) throws(MigrationWireError) -> MigrationMessage {
        var r = ByteReader(body)
        let raw = try r.u8()
        guard let kind = Kind(rawValue: raw) else { throw .malformed("unknown message type \(raw)") }
        let m: MigrationMessage
        switch kind {
        case .hello:
            guard try r.bytes(magic.count) == magic else { throw .malformed("not a Ringside migration stream (bad magic)") }
            m = .hello(version: try r.u16(), capabilities: try r.u32())
        case .config: m = .config(try config(&r))
        case .pages: m = try pages(&r)
        case .roundEnd: m = .roundEnd(round: try r.u32(), pages: try r.u64())
        case .vcpuState: m = .vcpuState(index: try r.u32(), state: try r.blob(limit: 1 << 20))
        case .deviceState: m = .deviceState(try deviceState(&r))
        case .digests: m = try digests(&r)
        case .complete: m = .complete
        case .ready: m = .ready
        case .commit: m = .commit(pausedNanos: try r.u64(), sinceReadyNanos: try r.u64())
        case .accepted: m = .accepted(stateNanos: try r.u64())
        case .started: m = .started(resumeNanos: try r.u64())
        case .abort: m = .abort(try r.string(limit: 4096))
        case .heartbeat: m = .heartbeat
        case .roundAck: m = .roundAck(round: try r.u32(), pages: try r.u64(), loadNanos: try r.u64())
        case .outcomeQuery: m = .outcomeQuery(migration: try r.u64())
        case .outcome: m = try outcome(&r)
        case .done: m = .done
        case .challenge: m = .challenge(nonce: try r.bytes(nonceBytes))
        case .binding: m = .binding(nonce: try r.bytes(nonceBytes))
        case .compressedPages: m = try compressedPages(&r)
        }
        guard r.atEnd else { throw .malformed("\(r.remaining) bytes after a \(m.name) message") }
        return m
    }

    private static func config(_ r: inout ByteReader) throws(MigrationWireError) -> MigrationConfig {
        let name = try r.string(limit: 4096)
        let image = try r.blob(limit: maxImageBytes)
        let digest = try r.u64()
        let args = try r.string(limit: 65536)
        let ram = try r.u64(), cpus = try r.u32(), width = try r.u32(), height = try r.u32(), pitch = try r.u32()
        let hz = Double(bitPattern: try r.u64())
        let tracking = try r.string(limit: 64)
        let ring = try r.u32(), tw = try r.u32(), th = try r.u32()
        let verify = try r.u8()
        guard verify <= 1 else { throw .malformed("verify flag \(verify)") }
        var config = MigrationConfig(imageName: name, image: image, imageDigest: digest, arguments: args, ramBytes: ram, cpus: cpus,
                                     width: width, height: height, pitch: pitch, guestHz: hz, tracking: tracking, ringEntries: ring,
                                     tileWidth: tw, tileHeight: th, verify: verify == 1)
        config.maxWidth = try r.u32(); config.maxHeight = try r.u32()
        config.migrationID = try r.u64()
        return config
    }

    private static func outcome(_ r: inout ByteReader) throws(MigrationWireError) -> MigrationMessage {
        let started = try r.u8()
        guard started <= 1 else { throw .malformed("outcome flag \(started)") }
        return .outcome(started: started == 1, resumeNanos: try r.u64())
    }

    static func pages(_ r: inout ByteReader) throws(MigrationWireError) -> MigrationMessage {
        let slot = try r.u32()
        let n = Int(try r.u32())
        guard n <= maxPagesPerMessage else { throw .malformed("\(n) pages in one message (the limit is \(maxPagesPerMessage))") }
        var pages: [PageRecord] = []
        pages.reserveCapacity(min(n, r.remaining / 9))
        for _ in 0..<n {
            let page = try r.u64()
            switch try r.u8() {
            case 0: pages.append(PageRecord(page: page, data: try r.bytes(pageSize)))
            case 1: pages.append(PageRecord(page: page, data: nil))
            case let f: throw .malformed("page flag \(f)")
            }
        }
        return .pages(slot: slot, pages)
    }

    private static func deviceState(_ r: inout ByteReader) throws(MigrationWireError) -> DeviceState {
        let n = Int(try r.u32())
        guard n <= maxVCPUs else { throw .malformed("\(n) vCPU frame counters") }
        var frames: [UInt64] = []
        for _ in 0..<n { frames.append(try r.u64()) }
        let uptime = try r.u64()
        let count = Int(try r.u32())
        guard count <= maxWaitingInput else { throw .malformed("\(count) waiting input events (the limit is \(maxWaitingInput))") }
        var input: [WaitingInputEvent] = []
        input.reserveCapacity(min(count, r.remaining / 16))
        for _ in 0..<count {
            input.append(WaitingInputEvent(type: try r.u16(), code: try r.u16(), value: Int32(bitPattern: try r.u32()),
                                           x: Int32(bitPattern: try r.u32()), y: Int32(bitPattern: try r.u32())))
        }
        var d = DeviceState(frames: frames, uptimeNanos: uptime, waitingInput: input)
        d.modeWidth = try r.u32(); d.modeHeight = try r.u32(); d.modePitch = try r.u32()
        let consoles = Int(try r.u32())
        guard consoles <= maxVCPUs else { throw .malformed("\(consoles) console lines") }
        for _ in 0..<consoles { d.consoleUnfinished.append(try r.blob(limit: maxConsoleBytes)) }
        return d
    }

    private static func digests(_ r: inout ByteReader) throws(MigrationWireError) -> MigrationMessage {
        let slot = try r.u32()
        let n = Int(try r.u32())
        guard n <= maxFrameBytes / 16 else { throw .malformed("\(n) digests in one message") }
        var list: [PageDigestRecord] = []
        list.reserveCapacity(min(n, r.remaining / 16)) // the count is the sender's word; the bytes are there
        for _ in 0..<n { list.append(PageDigestRecord(page: try r.u64(), digest: try r.u64())) }
        return .digests(slot: slot, list)
    }
}
