import ArgumentParser
import Machine

/// The guest and what it boots with, as `ringside run` and `ringside qemu` both take them:
/// the image, its argument string, its boot modules and the guest ABI version of an image
/// without the version note.
struct GuestOptions: ParsableArguments {
    @Option(help: "Built-in guest name (see `ringside guests`) or path to an ELF image.")
    var guest = GuestCatalog.defaultGuest
    @Option(help: "Argument string for the guest, e.g. \"sprites=64\".")
    var args = ""
    @Option(name: .customLong("module"),
            help: ArgumentHelp("Load a file into guest RAM after the image and list it in the boot info's module table under NAME (default: the file's name); repeatable, up to 64, names up to 47 bytes. The guest must declare guest ABI version 3 or later.",
                               valueName: "path[=name]"))
    var modules: [String] = []
    @Option(name: .customLong("guest-abi"), parsing: .unconditional,
            help: ArgumentHelp("The guest ABI version of an image that declares none in its ELF note, 1...\(GuestABI.newest): 2 for an image built from the version-2 document before the note existed. (default: 1; an image with the note boots as the version it declares)",
                               valueName: "version"),
            transform: NumericOptions.int("--guest-abi", NumericOptions.guestABI))
    var guestABI: Int?

    /// The image (refused before it is read when the file is larger than `ramBytes` or 1 GiB),
    /// its arguments, its boot modules (a built guest's data files first, unless a --module
    /// gives one of their names) and the version it boots as, for `ramBytes` of guest RAM.
    /// The caller sets the rest and validates the whole; nothing here touches KVM.
    func machineConfig(ramBytes ram: UInt64) throws -> MachineConfig {
        let image = try GuestCatalog.load(guest, maxImageBytes: GuestImage.fileSizeLimit(ramBytes: ram))
        var loaded: [BootModule] = []
        for spec in modules { loaded.append(try BootModule(spec: spec, maxBytes: ram)) }
        if let built = BuiltGuest.named(guest) {
            var data: [BootModule] = []
            for spec in built.moduleSpecs where !loaded.contains(where: { spec.hasSuffix("=" + $0.name) }) {
                data.append(try BootModule(spec: spec, maxBytes: ram))
            }
            loaded = data + loaded
        }
        var config = MachineConfig(image: image)
        config.arguments = args
        config.ramBytes = ram
        config.modules = loaded
        if let guestABI {
            if let declared = image.declaredABIVersion, declared != UInt32(guestABI) {
                throw Failure("--guest-abi \(guestABI) is for images without a version note, but \(image.path) declares version \(declared): drop --guest-abi")
            }
            config.undeclaredABIVersion = UInt32(guestABI)
        }
        return config
    }

    /// What to say when a guest without the version note exits with a non-zero status: an
    /// image from before the note that was built for a later version fails its own check of
    /// the boot info (the same line as `ringside run`'s).
    static func notelessExitNote(image: String, bootedAs version: UInt32) -> String {
        "ringside: note: \(image) declares no guest ABI version, so it was booted as version \(version); "
            + "an image built for a later version without the note runs with --guest-abi VERSION"
    }
}
