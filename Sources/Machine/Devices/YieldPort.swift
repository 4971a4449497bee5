/// The yield port (0xF8): the guest spins waiting for another vCPU, whose thread may need
/// this one's core (two vCPUs on a loaded host): the vCPU's thread yields.
struct YieldPort: PortDevice {
    let ports = GuestLayout.Port.yield...GuestLayout.Port.yield

    func write(port: UInt16, cpu: Int, data: PortData) -> PortAction { .yield }
}
