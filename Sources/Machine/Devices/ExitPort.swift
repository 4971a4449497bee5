/// The exit port (0xF4): the guest ends the run with the status it writes (a byte or a
/// dword); `Machine.wait()` then returns `.guestExit(status:)`.
struct ExitPort: PortDevice {
    let ports = GuestLayout.Port.exit...GuestLayout.Port.exit

    func write(port: UInt16, cpu: Int, data: PortData) -> PortAction { .exit(status: data.value) }
}
