/// A credential held in memory: a provider key, a configured header's value, a webhook
/// secret, a token. Its value is read only where it is sent or compared; printed,
/// interpolated, dumped or reflected (as a logger describing a service does) it shows
/// `<redacted>`, so that no log level can reveal it.
public struct Secret: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// The credential itself. Read it only to put it on the wire or compare it.
    public let value: String

    public init(_ value: String) {
        self.value = value
    }

    public var isEmpty: Bool { value.isEmpty }
    public var description: String { "<redacted>" }
    public var debugDescription: String { "<redacted>" }
    public var customMirror: Mirror { Mirror(self, children: [], displayStyle: .struct) }
}
