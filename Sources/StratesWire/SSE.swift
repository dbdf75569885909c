/// One Server-Sent Event as read off the wire, with the exact bytes it arrived as.
public struct SSEEvent: Sendable, Equatable {
    /// The `event:` field, or nil when absent (OpenAI chat streams send only `data:`).
    public var event: String?
    /// The `data:` lines joined with "\n", as bytes.
    public var data: [UInt8]
    public var id: String?
    /// The event's bytes as received, blank-line terminator included, so it can be
    /// re-emitted unchanged.
    public var raw: [UInt8]

    public init(event: String? = nil, data: [UInt8], id: String? = nil, raw: [UInt8] = []) {
        self.event = event
        self.data = data
        self.id = id
        self.raw = raw
    }

    public var dataText: String { String(decoding: data, as: UTF8.self) }
}

/// Incremental SSE parser: feed it bytes as they arrive, in chunks split anywhere,
/// and it hands back complete events. Follows the WHATWG event-stream rules for line
/// endings (LF, CRLF, CR), comments and field parsing.
public struct SSEDecoder: Sendable {
    private var line: [UInt8] = []
    private var raw: [UInt8] = []
    private var event: String?
    private var data: [UInt8] = []
    private var hasData = false
    private var id: String?
    private var lastWasCR = false
    /// Upper bound on one event's size, so a hostile stream cannot grow memory without end.
    public let maxEventBytes: Int
    public private(set) var overflowed = false

    public init(maxEventBytes: Int = 16 << 20) {
        self.maxEventBytes = maxEventBytes
    }

    /// Consumes `bytes` and returns the events they complete.
    public mutating func feed<Bytes: Sequence>(_ bytes: Bytes) -> [SSEEvent] where Bytes.Element == UInt8 {
        Array(bytes).withUnsafeBytes { feed($0) }
    }

    /// Consumes `buffer` and returns the events it completes. The hot path: it looks for
    /// line ends and moves the bytes between them in bulk, never one byte at a time.
    public mutating func feed(_ buffer: UnsafeRawBufferPointer) -> [SSEEvent] {
        var events: [SSEEvent] = []
        let count = buffer.count
        var index = 0
        if lastWasCR, count > 0 {
            lastWasCR = false
            if buffer[0] == 0x0A {
                raw.append(0x0A)
                index = 1
            }
        }
        while index < count {
            var end = index
            while end < count, buffer[end] != 0x0A, buffer[end] != 0x0D { end += 1 }
            appendLineBytes(UnsafeRawBufferPointer(rebasing: buffer[index..<end]))
            guard end < count else { break }
            let terminator = buffer[end]
            raw.append(terminator)
            index = end + 1
            if let done = endLine() { events.append(done) }
            // The LF of a CRLF comes after the line ended (with the next event's bytes), as
            // byte-at-a-time reading has it, so the split never depends on chunk edges.
            if terminator == 0x0D {
                if index == count {
                    lastWasCR = true
                } else if buffer[index] == 0x0A {
                    raw.append(0x0A)
                    index += 1
                }
            }
        }
        return events
    }

    /// Adds bytes of the current line; an event that grows past `maxEventBytes` is
    /// dropped at exactly the byte that crosses the limit, as byte-at-a-time reading would.
    private mutating func appendLineBytes(_ bytes: UnsafeRawBufferPointer) {
        var rest = bytes[...]
        while !rest.isEmpty, raw.count + rest.count > maxEventBytes {
            let take = max(1, maxEventBytes + 1 - raw.count)
            line.append(contentsOf: rest.prefix(take))
            raw.append(contentsOf: rest.prefix(take))
            overflowed = true
            reset()
            rest = rest.dropFirst(take)
        }
        line.append(contentsOf: rest)
        raw.append(contentsOf: rest)
    }

    /// Bytes received that do not yet form a complete event.
    public var pendingBytes: Int { raw.count }

    /// Hands back the bytes of the incomplete event, and forgets them.
    public mutating func takePending() -> [UInt8] {
        defer { reset() }
        return raw
    }

    private mutating func endLine() -> SSEEvent? {
        defer { line.removeAll(keepingCapacity: true) }
        if line.isEmpty {
            // A blank line dispatches the event, if it has any data or an event name.
            guard hasData || event != nil else {
                raw.removeAll(keepingCapacity: true)
                return nil
            }
            let done = SSEEvent(event: event, data: data, id: id, raw: raw)
            reset()
            return done
        }
        if line.first == UInt8(ascii: ":") { return nil }
        var field = line[...]
        var value: ArraySlice<UInt8> = []
        if let colon = line.firstIndex(of: UInt8(ascii: ":")) {
            field = line[..<colon]
            value = line[(colon + 1)...]
            if value.first == 0x20 { value = value.dropFirst() }
        }
        switch String(decoding: field, as: UTF8.self) {
        case "event": event = String(decoding: value, as: UTF8.self)
        case "data":
            if hasData { data.append(0x0A) }
            data.append(contentsOf: value)
            hasData = true
        case "id": id = String(decoding: value, as: UTF8.self)
        default: break
        }
        return nil
    }

    private mutating func reset() {
        raw.removeAll(keepingCapacity: true)
        line.removeAll(keepingCapacity: true)
        data.removeAll(keepingCapacity: true)
        event = nil
        hasData = false
    }
}

public enum SSEEncoder {
    /// `event: NAME\ndata: DATA\n\n`; multi-line data becomes several `data:` lines.
    public static func encode(event: String? = nil, data: String) -> [UInt8] {
        var out = ""
        if let event { out += "event: \(event)\n" }
        for line in data.split(separator: "\n", omittingEmptySubsequences: false) {
            out += "data: \(line)\n"
        }
        out += "\n"
        return Array(out.utf8)
    }
}
