import Foundation
import StratesCore
import StratesGateway
import StratesLedger
import StratesWire

/// `strates import claude-code` and `strates import codex`: a team's coding-agent history
/// from the agents' own session logs, into the ledger as if it had gone through the
/// gateway. Each model call counts once, with its most complete usage; its id comes from
/// the call's identity, so importing the same files twice adds nothing (and a session that
/// went on since adds only what is new).
public struct TranscriptImport {
    public enum Format: String, Sendable {
        case claudeCode = "claude-code"
        case codex

        /// A reader for one file's lines (Codex lines depend on the lines before them).
        func reader() -> (([UInt8]) -> ClaudeCodeTranscript.Line) {
            switch self {
            case .claudeCode: return ClaudeCodeTranscript.read
            case .codex:
                var rollout = CodexRollout()
                return { rollout.read($0) }
            }
        }

        var provider: String { self == .claudeCode ? "anthropic" : "openai" }
        var api: APIKind { self == .claudeCode ? .messages : .responses }
        var idPrefix: String { self == .claudeCode ? "imp_cc_" : "imp_cx_" }
    }

    public var format: Format
    /// Who the imported usage is attributed to; the workflow defaults to the project
    /// directory's name.
    public var attribution: Attribution
    public var pricing: Pricing

    public init(format: Format, attribution: Attribution, pricing: Pricing) {
        self.format = format
        self.attribution = attribution
        self.pricing = pricing
    }

    public struct Summary: Sendable, Equatable {
        public var files = 0
        public var lines = 0
        /// Assistant lines with usage, before duplicates are folded.
        public var responseLines = 0
        public var responses = 0
        public var sessions = 0
        public var malformed = 0
        /// The first few malformed lines, as `file:line: reason`.
        public var problems: [String] = []
        public var added = 0
        public var updated = 0
        public var usage = Usage()
        public var cost = NanoUSD.zero
        public var unpricedResponses = 0

        public var duplicates: Int { responseLines - responses }
        public var unchanged: Int { responses - added - updated }

        public var json: String {
            #"{"files":\#(files),"lines":\#(lines),"response_lines":\#(responseLines),"responses":\#(responses),"duplicates_folded":\#(duplicates),"sessions":\#(sessions),"added":\#(added),"updated":\#(updated),"already_present":\#(unchanged),"malformed_lines":\#(malformed),"problems":[\#(problems.map(JSONText.quote).joined(separator: ","))],"input_tokens":\#(usage.input),"output_tokens":\#(usage.output),"cache_read_tokens":\#(usage.cacheRead),"cache_write_5m_tokens":\#(usage.cacheWrite5m),"cache_write_1h_tokens":\#(usage.cacheWrite1h),"cost_usd":\#(JSONText.quote(cost.dollars)),"unpriced_responses":\#(unpricedResponses)}"#
        }
    }

    /// The `.jsonl` files at `paths` (files as given, folders searched through), sorted.
    public static func transcripts(at paths: [String]) throws -> [String] {
        var found: [String] = []
        for path in paths {
            var isFolder: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else {
                throw ImportError("no such file or folder: \(path)")
            }
            guard isFolder.boolValue else {
                found.append(path)
                continue
            }
            let enumerator = FileManager.default.enumerator(atPath: path)
            while let item = enumerator?.nextObject() as? String {
                if item.hasSuffix(".jsonl") { found.append((path as NSString).appendingPathComponent(item)) }
            }
        }
        return found.sorted()
    }

    /// Reads `files`, folds duplicate lines, and writes the responses to `store`.
    /// `progress(filesDone, responsesSoFar)` is called after each file.
    public func run(files: [String], store: any ImportStore, progress: (Int, Int) -> Void = { _, _ in }) async throws -> Summary {
        var summary = Summary(files: files.count)
        var responses: [String: TranscriptResponse] = [:]
        for (index, file) in files.enumerated() {
            guard let data = FileManager.default.contents(atPath: file) else { throw ImportError("cannot read \(file)") }
            let read = format.reader()
            let bytes = [UInt8](data)
            for (index, range) in Self.lines(bytes).enumerated() {
                let number = index + 1
                guard bytes[range].contains(where: { $0 != 0x20 && $0 != 0x0D && $0 != 0x09 }) else { continue }
                summary.lines += 1
                switch read(Array(bytes[range])) {
                case .other:
                    continue
                case .malformed(let reason):
                    summary.malformed += 1
                    if summary.problems.count < 10 { summary.problems.append("\(file):\(number): \(reason)") }
                case .response(let response):
                    summary.responseLines += 1
                    if let kept = responses[response.identity], !response.supersedes(kept) { continue }
                    responses[response.identity] = response
                }
            }
            progress(index + 1, responses.count)
        }
        summary.responses = responses.count
        let ordered = responses.values.sorted { ($0.timestamp, $0.identity) < ($1.timestamp, $1.identity) }
        var records: [RequestRecord] = []
        var contexts: [String: RunContext] = [:]
        var sessions = Set<String>()
        for response in ordered {
            let record = self.record(for: response)
            records.append(record)
            sessions.insert(response.sessionID)
            summary.usage = summary.usage + response.usage
            if let cost = record.cost { summary.cost = summary.cost + cost } else { summary.unpricedResponses += 1 }
            let run = record.attribution.run ?? response.sessionID
            var context = contexts[run] ?? RunContext(run: run, source: format.rawValue, cwd: nil, gitBranch: nil, firstAt: response.timestamp, lastAt: response.timestamp)
            context.cwd = response.cwd ?? context.cwd
            context.gitBranch = response.gitBranch ?? context.gitBranch
            context.lastAt = max(context.lastAt, response.timestamp)
            contexts[run] = context
        }
        summary.sessions = sessions.count
        for start in stride(from: 0, to: records.count, by: 5_000) {
            let (added, updated) = try await store.importRecords(Array(records[start..<min(start + 5_000, records.count)]))
            summary.added += added
            summary.updated += updated
        }
        try await store.saveRunContexts(Array(contexts.values))
        return summary
    }

    /// Where each line of `bytes` lies (without its LF), found with `memchr`: `Data.split`
    /// went through the bytes one by one and took a third of a large import.
    static func lines(_ bytes: [UInt8]) -> [Range<Int>] {
        var ranges: [Range<Int>] = []
        bytes.withUnsafeBufferPointer { buffer in
            guard let base = buffer.baseAddress else { return }
            var start = 0
            while start < buffer.count {
                let end = memchr(base + start, 0x0A, buffer.count - start).map { UnsafePointer($0.assumingMemoryBound(to: UInt8.self)) - base } ?? buffer.count
                ranges.append(start..<end)
                start = end + 1
            }
        }
        return ranges
    }

    /// The ledger record of one response. A subagent's responses form a child run of its session.
    func record(for response: TranscriptResponse) -> RequestRecord {
        var who = attribution
        if who.workflow == nil, let cwd = response.cwd {
            let name = (cwd as NSString).lastPathComponent
            who.workflow = name.isEmpty ? nil : name
        }
        if response.isSidechain || response.agentID != nil {
            who.run = "\(response.sessionID)/\(response.agentID ?? "subagent")"
            who.parentRun = response.sessionID
            who.process = "subagent"
        } else {
            who.run = response.sessionID
        }
        var record = RequestRecord(
            id: format.idPrefix + KeySecrets.hash(response.identity).prefix(24), startedAt: response.timestamp, endedAt: response.timestamp,
            api: format.api.rawValue, stream: true, status: .completed, httpStatus: 200, attribution: who,
            requestedModel: response.model, servedModel: response.model, provider: format.provider, upstreamRequestID: response.requestID,
            usage: response.usage, inputEstimate: response.usage.totalInput, source: format.rawValue
        )
        record.cost = pricing.cost(of: record)
        return record
    }
}

public struct ImportError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
