#if canImport(Glibc)
import Glibc
#endif

/// Reading an `--input-script` file: a regular file of at most `InputScript.maxBytes`.
extension InputScript {
    static func readFile(_ path: String) throws(InputScriptError) -> [UInt8] {
        func fail(_ what: String) -> InputScriptError {
            InputScriptError(file: path, line: 0, message: "cannot read the input script: \(what)")
        }
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw fail(String(cString: strerror(errno))) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw fail(String(cString: strerror(errno))) }
        guard (st.st_mode & S_IFMT) == S_IFREG else { throw fail("not a regular file") }
        guard Int(st.st_size) <= maxBytes else {
            throw InputScriptError(file: path, line: 0, message: "is \(st.st_size) bytes: an input script may be at most \(maxBytes >> 20) MiB")
        }
        var bytes = [UInt8](repeating: 0, count: Int(st.st_size) + 1)
        var count = 0
        while true {
            let n = bytes.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress! + count, $0.count - count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw fail(String(cString: strerror(errno)))
            }
            if n == 0 { break }
            count += n
            if count == bytes.count {
                guard count <= maxBytes else {
                    throw InputScriptError(file: path, line: 0, message: "is more than \(maxBytes >> 20) MiB: an input script may be at most that")
                }
                bytes += [UInt8](repeating: 0, count: 4096)
            }
        }
        return Array(bytes[..<count])
    }
}
