import Foundation
import Logging

/// Log lines on standard error in swift-log's stream format
/// (`2026-11-23T17:00:00+0000 info strates: key=value [module] message`), with the metadata
/// rendered when a line is written, not whenever it changes. The stream handler renders
/// it on every change, and the gateway tags each request's logger with its id: that cost
/// several percent of the CPU of every request, even with nothing logged.
public struct StratesLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    public var logLevel: Logger.Level = .info
    let label: String
    /// Where finished lines go: standard error, one `write` per line.
    let output: @Sendable (String) -> Void

    public init(label: String, metadataProvider: Logger.MetadataProvider? = nil, output: @escaping @Sendable (String) -> Void = Self.standardError) {
        self.label = label
        self.metadataProvider = metadataProvider
        self.output = output
    }

    public static let standardError: @Sendable (String) -> Void = { FileHandle.standardError.write(Data($0.utf8)) }

    /// A logger writing through this handler.
    public static func logger(label: String, level: Logger.Level) -> Logger {
        var logger = Logger(label: label) { StratesLogHandler(label: $0) }
        logger.logLevel = level
        return logger
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { $1 } }
        if let explicit = event.metadata { merged.merge(explicit) { $1 } }
        if let error = event.error {
            merged["error.message"] = "\(error)"
            merged["error.type"] = "\(String(reflecting: type(of: error)))"
        }
        let pretty = merged.isEmpty ? "" : " " + merged.sorted { $0.key < $1.key }.map { "\($0)=\($1)" }.joined(separator: " ")
        output("\(Self.timestamp()) \(event.level)\(label.isEmpty ? "" : " ")\(label):\(pretty) [\(event.source)] \(event.message)\n")
    }

    static func timestamp() -> String {
        var now = time(nil)
        var parts = tm()
        localtime_r(&now, &parts)
        var buffer = [Int8](repeating: 0, count: 64)
        let count = strftime(&buffer, buffer.count, "%Y-%m-%dT%H:%M:%S%z", &parts)
        return String(decoding: buffer.prefix(count).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
