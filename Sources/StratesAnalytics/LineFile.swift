import Foundation

/// Reads a text file line by line in blocks, so a large log is never whole in memory.
enum LineFile {
    static let blockSize = 1 << 20

    /// Calls `body` with each line of the file at `path`, without its LF (a last line without
    /// one included). The bytes are lent for the call only: most lines are read where they
    /// lie in the block, unless a line spans two blocks. `block` is the caller's, reused from
    /// file to file: a history is thousands of small files, and a fresh zeroed 1 MiB block
    /// for each (faulted in page by page) cost more CPU than parsing them.
    static func forEachLine(path: String, block: inout [UInt8], _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        let descriptor = open(path, O_RDONLY)
        guard descriptor >= 0 else { throw ImportError("cannot read \(path): \(String(cString: strerror(errno)))") }
        defer { close(descriptor) }
        if block.count < blockSize { block = [UInt8](repeating: 0, count: blockSize) }
        var carried: [UInt8] = []
        while true {
            let count = block.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, blockSize) }
            guard count >= 0 else { throw ImportError("cannot read \(path): \(String(cString: strerror(errno)))") }
            if count == 0 { break }
            try block.withUnsafeBufferPointer { buffer in
                guard let base = buffer.baseAddress else { return }
                var start = 0
                while start < count {
                    guard let found = memchr(base + start, 0x0A, count - start) else {
                        carried.append(contentsOf: UnsafeBufferPointer(start: base + start, count: count - start))
                        return
                    }
                    let end = UnsafePointer(found.assumingMemoryBound(to: UInt8.self)) - base
                    if carried.isEmpty {
                        try body(UnsafeRawBufferPointer(start: base + start, count: end - start))
                    } else {
                        carried.append(contentsOf: UnsafeBufferPointer(start: base + start, count: end - start))
                        try carried.withUnsafeBytes(body)
                        carried.removeAll(keepingCapacity: true)
                    }
                    start = end + 1
                }
            }
        }
        if !carried.isEmpty { try carried.withUnsafeBytes(body) }
    }
}
