/// Guest-physical memory layout shared with guest programs (see assets/guests/README.md).
public enum GuestLayout {
    public static let gdt: UInt64 = 0x1000
    public static let tss: UInt64 = 0x2000
    public static let counters: UInt64 = 0x3000
    public static let bootInfo: UInt64 = 0x4000
    public static let bootInfoStride: UInt64 = 0x100
    public static let arguments: UInt64 = 0x5000
    public static let maxArgumentBytes = 4095
    public static let pml4: UInt64 = 0x10000
    public static let pdpt: UInt64 = 0x11000
    public static let pageDirectories: UInt64 = 0x12000
    public static let stacksTop: UInt64 = 0x20_0000
    public static let stackSize: UInt64 = 0x1_0000
    /// Everything below this belongs to the VMM; image segments start at or above it.
    public static let imageBase: UInt64 = 0x20_0000
    /// Guest-physical address of the framebuffer memory slot (64 GiB).
    public static let framebuffer: UInt64 = 0x10_0000_0000
    public static let ramSlot: UInt32 = 0
    public static let framebufferSlot: UInt32 = 1
    public static let largePage: UInt64 = 0x20_0000
    public static let pageSize = 4096
    /// vCPU limit from the stack area (16 stacks of 64 KiB below `stacksTop`).
    public static let maxVCPUs = 16

    public static let minRAM: UInt64 = 8 << 20
    public static let maxRAM: UInt64 = 32 << 30

    public static let bootInfoMagic: UInt32 = 0x4942_5352 // "RSBI"
    public static let bootInfoVersion: UInt32 = 1
    public static let formatXRGB8888: UInt32 = 1

    /// Ports the guest writes (`out`).
    public enum Port {
        public static let debugConsole: UInt16 = 0xE9
        public static let frameDoorbell: UInt16 = 0xF0
        public static let exit: UInt16 = 0xF4
    }
}
