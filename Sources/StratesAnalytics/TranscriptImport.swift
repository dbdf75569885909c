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
public struct TranscriptImport: Sendable {
    public enum Format: String, Sendable {
        case claudeCode = "claude-code"
        case codex

        /// A reader for one file's lines (Codex lines depend on the lines before them), each
        /// line lent for the call.
        func reader() -> ((UnsafeRawBufferPointer) -> ClaudeCodeTranscript.Line) {
            switch self {
            case .claudeCode: return { ClaudeCodeTranscript.read($0) }
            case .codex:
                var rollout = CodexRollout()
                return { rollout.read(Array($0)) }
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
        /// Files read by an earlier import and unchanged since: skipped.
        public var unchangedFiles = 0
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
        /// Whether the ledger was empty and the responses went in by its bulk path.
        public var bulk = false

        public var duplicates: Int { responseLines - responses }
        public var unchanged: Int { responses - added - updated }

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

    /// What one pass over some files found: the responses in the order first read (duplicates
    /// folded, the first read kept on a tie) and the counts for the summary.
    struct FilesRead: Sendable {
        var responses: [(key: ResponseKey, response: TranscriptResponse)] = []
        /// Where each response is in `responses`.
        var positions = ResponseTable<Int>()
        var lines = 0
        var responseLines = 0
        var malformed = 0
        var problems: [String] = []

        enum Kept { case first, superseding, not }

        /// Keeps `response`: in place of the one of its key it supersedes, at the end if it is
        /// the first of its key, not at all otherwise.
        @discardableResult
        mutating func keep(_ key: ResponseKey, _ response: TranscriptResponse) -> Kept {
            if let at = positions[key] {
                guard response.supersedes(responses[at].response) else { return .not }
                responses[at].response = response
                return .superseding
            }
            positions.set(key, responses.count)
            responses.append((key, response))
            return .first
        }

        /// Forgets the responses, keeping the memory they took.
        mutating func removeResponses() {
            responses.removeAll(keepingCapacity: true)
            positions.removeAll()
        }
    }

    /// One copy of each string repeated on every line of a session (the session, its
    /// directory, branch and model), kept once instead of once per response. The previous
    /// line's value is compared first: it is nearly always the same, and the map of every
    /// string seen is only asked when it is not.
    struct Strings {
        enum Field { case session, cwd, branch, model }
        var seen: [String: String] = [:]
        var session = ""
        var cwd = ""
        var branch = ""
        var model = ""

        mutating func once(_ text: String, _ field: Field) -> String {
            let previous =
                switch field {
                case .session: session
                case .cwd: cwd
                case .branch: branch
                case .model: model
                }
            if text == previous { return previous }
            let kept: String
            if let known = seen[text] { kept = known } else { (seen[text], kept) = (text, text) }
            switch field {
            case .session: session = kept
            case .cwd: cwd = kept
            case .branch: branch = kept
            case .model: model = kept
            }
            return kept
        }
    }

    /// Starts reading `batch`, its two halves side by side.
    static func startReading(_ batch: ArraySlice<String>, format: Format) -> (Task<FilesRead, any Error>, Task<FilesRead, any Error>) {
        let middle = batch.startIndex + batch.count / 2
        return (
            Task { try read(files: batch[batch.startIndex..<middle], format: format) }, Task { try read(files: batch[middle..<batch.endIndex], format: format) }
        )
    }

    /// Reads `files` in order.
    static func read(files: ArraySlice<String>, format: Format) throws -> FilesRead {
        var found = FilesRead()
        var strings = Strings()
        var block: [UInt8] = []
        for file in files {
            let read = format.reader()
            var number = 0
            try LineFile.forEachLine(path: file, block: &block) { line in
                number += 1
                guard line.contains(where: { $0 != 0x20 && $0 != 0x0D && $0 != 0x09 }) else { return }
                found.lines += 1
                switch read(line) {
                case .other:
                    return
                case .malformed(let reason):
                    found.malformed += 1
                    if found.problems.count < 10 { found.problems.append("\(file):\(number): \(reason)") }
                case .response(var response):
                    found.responseLines += 1
                    response.sessionID = strings.once(response.sessionID, .session)
                    response.cwd = response.cwd.map { strings.once($0, .cwd) }
                    response.gitBranch = response.gitBranch.map { strings.once($0, .branch) }
                    response.model = strings.once(response.model, .model)
                    found.keep(ResponseKey(response), response)
                }
            }
        }
        return found
    }

    /// A response handed on to the ledger, as far as the import and its summary need it: the
    /// usage last handed on, and once a write of it is accounted, its cost and what the
    /// ledger did with it.
    struct Sent {
        var usage: Usage
        var cost: NanoUSD?
        /// What the ledger did with it: true added, false updated, nil already there.
        var added: Bool?
        var accounted = false

        /// Accounts a write of it: counted in `summary` once, by what the ledger held before
        /// the import. Read again with more usage, it counts as updated only if it was in the
        /// ledger before and unchanged so far.
        mutating func account(_ outcome: Bool?, cost: NanoUSD?, in summary: inout Summary) {
            if accounted {
                if added == nil, outcome == false { summary.updated += 1 }
                added = added ?? outcome
            } else {
                if outcome == true { summary.added += 1 }
                if outcome == false { summary.updated += 1 }
                added = outcome
                accounted = true
            }
            self.cost = cost
        }
    }

    /// Where a run happened, with when each of its latest directory and branch was seen.
    struct RunPlace {
        var context: RunContext
        var cwdAt: Date
        var branchAt: Date

        mutating func see(_ response: TranscriptResponse) {
            context.firstAt = min(context.firstAt, response.timestamp)
            context.lastAt = max(context.lastAt, response.timestamp)
            if let cwd = response.cwd, response.timestamp >= cwdAt { (context.cwd, cwdAt) = (cwd, response.timestamp) }
            if let branch = response.gitBranch, response.timestamp >= branchAt { (context.gitBranch, branchAt) = (branch, response.timestamp) }
        }
    }

    /// Files read together: a Claude Code history has about 100 responses per file.
    public var filesPerBatch = 128
    /// Responses written together, in one transaction. Larger transactions write each index
    /// page to the write-ahead log fewer times (BENCHMARKS.md has the timings).
    public var responsesPerWrite = 50_000
    /// Whether files read by an earlier import into the same ledger, and unchanged since (same
    /// size and modification time), are skipped. Off, every file is read again (what they
    /// hold is still added only once).
    public var skipUnchangedFiles = true
    /// Writes that may be under way (one writing, the rest waiting their turn) while reading
    /// goes on; each holds `responsesPerWrite` responses in memory.
    public var writesAhead = 1
    /// Whether a first import into an empty ledger writes by its bulk path: the rows bare,
    /// every index built once at the end (see `BulkImportWriter`). A response read again
    /// later with more usage is then written after, as an update.
    public var bulkWhenEmpty = true
    /// Records handed to a bulk write at a time.
    static let recordsPerSlice = 4096

    /// Reads `files`, folds duplicate lines, and writes the responses to `store`.
    /// `progress(filesDone, responsesSoFar)` is called as files are read, `finishing(bulk)`
    /// once all are (a bulk import then builds the indexes and commits). Files an earlier
    /// import into `store` read, unchanged since, are skipped (`skipUnchangedFiles`); those
    /// read are remembered once the whole import has finished.
    ///
    /// Files are read in batches (`filesPerBatch`), each by two tasks (their halves taken in
    /// file order), the next batch read while the last one is taken in. Every
    /// `responsesPerWrite` responses are handed to a write: a task that makes their ledger
    /// records, then waits for the write before it and writes them, in a transaction of their
    /// own or, into an empty ledger, as part of the bulk import (`bulkWhenEmpty`). Reading
    /// goes on while up to `writesAhead` writes are under way, so the ledger's single writer
    /// is kept busy (when reading waited for each write, a core sat idle much of the time).
    /// A response read again later (a resumed session's copy) is handed on again only when its
    /// usage is more complete, as an update (after the bulk import, if there is one); the
    /// summary counts each response once, by what the ledger held before the import.
    public func run(
        files found: [String], store: any ImportStore, progress: (Int, Int) -> Void = { _, _ in }, finishing: (_ bulk: Bool) -> Void = { _ in }
    ) async throws -> Summary {
        var summary = Summary(files: found.count)
        // What an earlier import read, unchanged since, is in the ledger already. A file that
        // cannot be looked at is read (and its error reported there).
        let known = skipUnchangedFiles ? try await store.importedFiles(source: format.rawValue) : [:]
        var stamps: [ImportedFile] = []
        var files: [String] = []
        for path in found {
            let stamp = Self.stamp(path)
            if let stamp, known[stamp.path] == stamp {
                summary.unchangedFiles += 1
                continue
            }
            if let stamp { stamps.append(stamp) }
            files.append(path)
        }
        let format = self.format
        let importer = self
        typealias Keyed = [(key: ResponseKey, response: TranscriptResponse)]
        let bulk = bulkWhenEmpty && !files.isEmpty ? try await store.beginBulkImport() : nil
        /// Every response handed on to a write, by key.
        var handed = ResponseTable<Sent>()
        var places: [String: RunPlace] = [:]
        var sessions = Set<String>()
        /// Read, not yet handed to a write, in the order read; and how many of them were never
        /// handed on.
        var waiting = FilesRead()
        var waitingNew = 0
        /// Responses handed to a bulk write before and read again with more usage: written
        /// as updates once the bulk write has committed.
        var again: [ResponseKey: TranscriptResponse] = [:]
        /// Writes handed on and not yet accounted, oldest first.
        var writes: [(responses: Keyed, task: Task<(ImportResult, [NanoUSD?]), any Error>)] = []
        func write(_ responses: Keyed, to bulk: (any BulkImportWriter)?) {
            let previous = writes.last?.task
            writes.append(
                (
                    responses,
                    Task {
                        // Transactions commit in the order they were handed on; a failed one
                        // fails those after it.
                        guard let bulk else {
                            let records = importer.records(for: responses[...])
                            _ = try await previous?.value
                            return (try await store.importRecords(records), records.map(\.cost))
                        }
                        // A bulk write takes the records in slices: a write's records in one array
                        // were past what the allocator reuses, so each write's memory was mapped
                        // afresh (the page faults are measured in BENCHMARKS.md).
                        var slices = stride(from: 0, to: responses.count, by: Self.recordsPerSlice).map {
                            importer.records(for: responses[$0..<min($0 + Self.recordsPerSlice, responses.count)])
                        }
                        _ = try await previous?.value
                        var costs: [NanoUSD?] = []
                        costs.reserveCapacity(responses.count)
                        for index in slices.indices {
                            try await bulk.write(slices[index])
                            costs += slices[index].lazy.map(\.cost)
                            slices[index] = []
                        }
                        return (ImportResult(added: Array(responses.indices)), costs)
                    }
                ))
        }
        // Hands what waits to a new write, in the order read (so a session's rows come
        // together, and the ledger's run indexes take them at one place): new responses,
        // and those handed on before that now have more complete usage. Then accounts the
        // writes that leave more than `ahead` under way, waiting for them in order.
        func flush(ahead: Int) async throws {
            var responses: Keyed = []
            responses.reserveCapacity(waiting.responses.count)
            for (key, response) in waiting.responses {
                if let before = handed[key] {
                    guard TranscriptResponse.moreComplete(response.usage, than: before.usage) else { continue }
                    handed.update(key) { $0.usage = response.usage }
                    if bulk != nil {
                        again[key] = response
                        continue
                    }
                } else {
                    handed.set(key, Sent(usage: response.usage))
                }
                responses.append((key, response))
            }
            waiting.removeResponses()
            waitingNew = 0
            if !responses.isEmpty { write(responses, to: bulk) }
            while writes.count > ahead {
                let (responses, task) = writes.removeFirst()
                let (result, costs) = try await task.value
                var outcomes = [Bool?](repeating: nil, count: responses.count)
                for index in result.added { outcomes[index] = true }
                for index in result.updated { outcomes[index] = false }
                for (index, (key, _)) in responses.enumerated() {
                    handed.update(key) { $0.account(outcomes[index], cost: costs[index], in: &summary) }
                }
            }
        }
        // The run being read and where it happened: a session's responses come one after
        // another, so its run's name is made, and its place looked up, once per run.
        var run = (session: "", agent: String?.none, subagent: false, name: "")
        var place: RunPlace?
        var reading: (Task<FilesRead, any Error>, Task<FilesRead, any Error>)?
        do {
            for start in stride(from: 0, to: files.count, by: filesPerBatch) {
                let batch = files[start..<min(start + filesPerBatch, files.count)]
                // This batch's halves, read since the batch before was taken; the next
                // batch's reading starts now, beside the work on this one.
                let halves = reading ?? Self.startReading(batch, format: format)
                let next = files[batch.endIndex..<min(batch.endIndex + filesPerBatch, files.count)]
                reading = next.isEmpty ? nil : Self.startReading(next, format: format)
                for found in [try await halves.0.value, try await halves.1.value] {
                    summary.lines += found.lines
                    summary.responseLines += found.responseLines
                    summary.malformed += found.malformed
                    summary.problems += found.problems.prefix(max(0, 10 - summary.problems.count))
                    for (key, response) in found.responses {
                        switch waiting.keep(key, response) {
                        case .not: continue
                        case .first: if !handed.contains(key) { waitingNew += 1 }
                        case .superseding: break
                        }
                        if response.sessionID != run.session || response.agentID != run.agent || response.isSubagent != run.subagent {
                            if response.sessionID != run.session { sessions.insert(response.sessionID) }
                            if let place { places[place.context.run] = place }
                            run = (response.sessionID, response.agentID, response.isSubagent, response.run)
                            place =
                                places[run.name]
                                ?? RunPlace(
                                    context: RunContext(
                                        run: run.name, source: format.rawValue, cwd: nil, gitBranch: nil, firstAt: response.timestamp,
                                        lastAt: response.timestamp),
                                    cwdAt: .distantPast, branchAt: .distantPast
                                )
                        }
                        place?.see(response)
                    }
                }
                progress(summary.unchangedFiles + batch.endIndex, handed.count + waitingNew)
                if waiting.responses.count >= responsesPerWrite { try await flush(ahead: writesAhead) }
            }
            if let place { places[place.context.run] = place }
            finishing(bulk != nil)
            // The last responses, then the wait for every write.
            try await flush(ahead: 0)
            if let bulk {
                try await bulk.finish()
                summary.bulk = true
                if !again.isEmpty {
                    write(again.map { ($0.key, $0.value) }, to: nil)
                    try await flush(ahead: 0)
                }
            }
        } catch {
            // A file that cannot be read ends the import; the reading and the writes under
            // way finish first rather than racing the process's exit. A bulk import is
            // rolled back whole.
            if let reading { _ = (try? await reading.0.value, try? await reading.1.value) }
            for write in writes { _ = try? await write.task.value }
            await bulk?.abort()
            throw error
        }
        summary.responses = handed.count
        summary.sessions = sessions.count
        handed.forEachValue { response in
            summary.usage = summary.usage + response.usage
            if let cost = response.cost { summary.cost = summary.cost + cost } else { summary.unpricedResponses += 1 }
        }
        try await store.saveRunContexts(places.values.map(\.context))
        try await store.saveImportedFiles(stamps, source: format.rawValue)
        return summary
    }

    /// A file's absolute path, size and modification time; nil when it cannot be looked at.
    static func stamp(_ path: String) -> ImportedFile? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        let absolute = path.hasPrefix("/") ? path : (FileManager.default.currentDirectoryPath as NSString).appendingPathComponent(path)
        return ImportedFile(
            path: (absolute as NSString).standardizingPath, size: Int64(info.st_size),
            modifiedNanos: Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec)
        )
    }

    /// The ledger records of responses; each working directory's workflow name is made once.
    func records(for responses: ArraySlice<(key: ResponseKey, response: TranscriptResponse)>) -> [RequestRecord] {
        var workflows: [String: String?] = [:]
        return responses.map { key, response in
            var workflow: String?
            if attribution.workflow == nil, let cwd = response.cwd {
                if let known = workflows[cwd] {
                    workflow = known
                } else {
                    let name = (cwd as NSString).lastPathComponent
                    workflow = name.isEmpty ? nil : name
                    workflows[cwd] = workflow
                }
            }
            return record(for: response, key: key, workflow: workflow)
        }
    }

    /// The ledger record of one response. A subagent's responses form a child run of its
    /// session. `workflow` names it when the import was given none (the project directory).
    func record(for response: TranscriptResponse, key: ResponseKey, workflow: String?) -> RequestRecord {
        var who = attribution
        if who.workflow == nil { who.workflow = workflow }
        who.run = response.run
        if response.isSubagent {
            who.parentRun = response.sessionID
            who.process = "subagent"
        }
        var record = RequestRecord(
            id: format.idPrefix + key.ledgerHex, startedAt: response.timestamp, endedAt: response.timestamp,
            api: format.api.rawValue, stream: true, status: .completed, httpStatus: 200, attribution: who,
            requestedModel: response.model, servedModel: response.model, provider: format.provider, upstreamRequestID: response.requestID,
            usage: response.usage, inputEstimate: response.usage.totalInput, source: format.rawValue
        )
        record.cost = pricing.cost(of: record)
        return record
    }
}

extension TranscriptResponse {
    var isSubagent: Bool { isSidechain || agentID != nil }
    /// The run a response belongs to: its session, or for a subagent a child run of it.
    var run: String { isSubagent ? "\(sessionID)/\(agentID ?? "subagent")" : sessionID }
}

public struct ImportError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
