internal import CGuestABI

/// Guest-physical memory layout shared with guest programs. The numbers come from the ABI
/// header (`Sources/CGuestABI/include/ringside_abi.h`), which the guests compile too;
/// assets/guests/README.md explains them.
public enum GuestLayout {
    public static let gdt = RS_GPA_GDT
    public static let tss = RS_GPA_TSS
    public static let counters = RS_GPA_COUNTERS
    public static let bootInfo = RS_GPA_BOOT_INFO
    public static let bootInfoStride = RS_BOOT_INFO_STRIDE
    public static let arguments = RS_GPA_ARGUMENTS
    public static let maxArgumentBytes = Int(RS_MAX_ARGUMENT_BYTES)
    /// The input event queue page (`struct rs_input_queue`), shared by every vCPU.
    public static let inputQueue = RS_GPA_INPUT_QUEUE
    /// The boot-module table page (`struct rs_module` entries; ABI version 3).
    public static let modules = RS_GPA_MODULES
    /// The cursor plane's header page (`struct rs_cursor`) and its pixels (ABI version 4).
    public static let cursor = RS_GPA_CURSOR
    public static let cursorPixels = RS_GPA_CURSOR_PIXELS
    public static let pml4 = RS_GPA_PML4
    public static let pdpt = RS_GPA_PDPT
    public static let pageDirectories = RS_GPA_PAGE_DIRS
    public static let stacksTop = RS_GPA_STACKS_TOP
    public static let stackSize = RS_STACK_SIZE
    /// Everything below this belongs to the VMM; image segments start at or above it.
    public static let imageBase = RS_IMAGE_BASE
    /// Guest-physical address of the framebuffer memory slot (64 GiB).
    public static let framebuffer = RS_GPA_FRAMEBUFFER
    public static let ramSlot = UInt32(RS_SLOT_RAM)
    public static let framebufferSlot = UInt32(RS_SLOT_FRAMEBUFFER)
    public static let largePage: UInt64 = 0x20_0000
    public static let pageSize = 4096
    /// vCPU limit from the stack area (16 stacks of 64 KiB below `stacksTop`).
    public static let maxVCPUs = Int(RS_MAX_VCPUS)

    public static let minRAM: UInt64 = 8 << 20
    public static let maxRAM: UInt64 = 32 << 30

    public static let bootInfoMagic = UInt32(RS_BOOT_INFO_MAGIC)
    public static let bootInfoVersion = UInt32(RS_BOOT_INFO_VERSION)
    public static let formatXRGB8888 = UInt32(RS_FORMAT_XRGB8888)

    /// How many bytes of `struct rs_boot_info` guest ABI `version` has: 96 (version 1), 104
    /// (2 added input_queue_gpa), 120 (3 added the module table), 128 (4 added cursor_gpa).
    /// The rest of the block is 0.
    static func bootInfoBytes(version: UInt32) -> Int {
        switch version {
        case ...1: return MemoryLayout<rs_boot_info>.offset(of: \rs_boot_info.input_queue_gpa)!
        case 2: return MemoryLayout<rs_boot_info>.offset(of: \rs_boot_info.modules_gpa)!
        case 3: return MemoryLayout<rs_boot_info>.offset(of: \rs_boot_info.cursor_gpa)!
        default: return MemoryLayout<rs_boot_info>.size
        }
    }

    /// Offset of vCPU `cpu`'s frame counter in the counters page.
    static func frameCounterOffset(cpu: Int) -> UInt64 {
        UInt64(MemoryLayout<rs_counters>.offset(of: \rs_counters.frames)! + 8 * cpu)
    }
    static let uptimeOffset = UInt64(MemoryLayout<rs_counters>.offset(of: \rs_counters.uptime_ns)!)

    /// Ports the guest writes (`out`).
    public enum Port {
        public static let debugConsole = UInt16(RS_PORT_CONSOLE)
        public static let frameDoorbell = UInt16(RS_PORT_DOORBELL)
        public static let exit = UInt16(RS_PORT_EXIT)
        public static let yield = UInt16(RS_PORT_YIELD)
    }
}
