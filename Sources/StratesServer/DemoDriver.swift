import AsyncHTTPClient
import Foundation
import NIOCore
import StratesCore
import StratesGateway
import StratesLedger

/// `strates demo`: simulated agents driven through a running Strates (its simulated
/// provider answers), so that every report has something to show within a minute. A few
/// teams and members, each with one-shot prompts, chains of human turns, autonomous tool
/// loops with growing context and a subagent, one runaway loop, and outcomes recorded for
/// some runs (not all: zero-output runs are part of the picture).
public struct DemoDriver {
    public struct Member: Sendable {
        public var team: String
        public var name: String
        public var secret: String

        public init(team: String, name: String, secret: String) {
            self.team = team
            self.name = name
            self.secret = secret
        }
    }

    public var url: String
    public var members: [Member]
    public var ledger: any LedgerDatabase
    /// A label unique to this demo, so that runs of two demos do not mix.
    public var label: String

    public init(url: String, members: [Member], ledger: any LedgerDatabase, label: String) {
        self.url = url
        self.members = members
        self.ledger = ledger
        self.label = label
    }

    public static let roster = [("platform", "ana"), ("platform", "ben"), ("data", "dana"), ("web", "wei")]

    public struct Summary: Sendable {
        public var requests = 0
        public var runs = 0
        public var outcomes = 0
        public var refused = 0
    }

    static let tools =
        #"[{"type":"function","function":{"name":"run_tests","description":"Run the test suite","parameters":{"type":"object","properties":{}}}}]"#

    /// Drives every member's runs; `progress` hears each finished scenario.
    public func run(progress: (String) -> Void) async throws -> Summary {
        let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup)
        do {
            let summary = try await drive(client, progress: progress)
            try await client.shutdown()
            return summary
        } catch {
            try? await client.shutdown()
            throw error
        }
    }

    func drive(_ client: HTTPClient, progress: (String) -> Void) async throws -> Summary {
        var summary = Summary()
        for (index, member) in members.enumerated() {
            let prefix = "demo-\(label)-\(member.name)"
            for number in 0..<3 {
                try await send(
                    client, member, run: "\(prefix)-prompt-\(number)", workflow: "triage", messages: [Self.user("Label issue #\(index * 10 + number).")],
                    summary: &summary)
                summary.runs += 1
            }
            var history: [String] = []
            for question in ["Draft the release notes.", "Shorter, please.", "Add the migration step.", "Now the summary."] {
                history.append(Self.user(question))
                try await send(client, member, run: "\(prefix)-chain", workflow: "docs", messages: history, summary: &summary)
                history.append(#"{"role":"assistant","content":"Here is the draft."}"#)
            }
            summary.runs += 1
            // An agent's loop: each step goes on from the test run's result, and the context grows.
            let loop = "\(prefix)-loop"
            history = [Self.user("Make the failing payment tests pass.")]
            try await send(client, member, run: loop, workflow: "fix-bug", messages: history, tools: true, summary: &summary)
            for step in 0..<(6 + index * 2) {
                let output = String(repeating: "FAILED test_payment_\(step) - AssertionError\n", count: 20 + step * 10)
                history.append(
                    #"{"role":"assistant","content":null,"tool_calls":[{"id":"call_\#(step)","type":"function","function":{"name":"run_tests","arguments":"{}"}}]}"#
                )
                history.append(#"{"role":"tool","tool_call_id":"call_\#(step)","content":\#(JSONText.quote(output))}"#)
                try await send(client, member, run: loop, workflow: "fix-bug", messages: history, tools: true, summary: &summary)
            }
            try await send(
                client, member, run: "\(loop)/explore", workflow: "fix-bug", messages: [Self.user("Find the retry helper.")], parent: loop, summary: &summary)
            summary.runs += 1
            try await record(
                Outcome(
                    id: "out_" + KeySecrets.randomHex(8), at: Date(), run: loop, kind: .commit, ref: "\(prefix)-c1", quantity: Int64(40 + index * 25),
                    source: "demo"), &summary)
            if index % 2 == 0 {
                try await record(
                    Outcome(
                        id: "out_" + KeySecrets.randomHex(8), at: Date(), run: loop, kind: .merge, ref: "\(prefix)-pr", quantity: Int64(40 + index * 25),
                        source: "demo"), &summary)
            }
            try await record(
                Outcome(id: "out_" + KeySecrets.randomHex(8), at: Date(), run: "\(prefix)-prompt-0", kind: .custom, ref: "labelled", source: "demo"), &summary)
            progress("\(member.team)/\(member.name): 3 prompts, a 4-turn chain, a \(7 + index * 2)-call tool loop with a subagent")
        }
        // One agent stuck in a loop: the same request again and again.
        if let member = members.first {
            for _ in 0..<10 {
                try await send(
                    client, member, run: "demo-\(label)-stuck", workflow: "fix-bug", messages: [Self.user("Run the tests again.")], summary: &summary)
            }
            summary.runs += 1
            progress("\(member.team)/\(member.name): a runaway run repeating one request 10 times")
        }
        return summary
    }

    static func user(_ text: String) -> String { #"{"role":"user","content":\#(JSONText.quote(text))}"# }

    func send(
        _ client: HTTPClient, _ member: Member, run: String, workflow: String, messages: [String], tools: Bool = false, parent: String? = nil,
        summary: inout Summary
    ) async throws {
        var request = HTTPClientRequest(url: url + "/v1/chat/completions")
        request.method = .POST
        request.headers.add(name: "authorization", value: "Bearer \(member.secret)")
        request.headers.add(name: "content-type", value: "application/json")
        request.headers.add(name: "x-strates-run", value: run)
        request.headers.add(name: "x-strates-workflow", value: workflow)
        if let parent { request.headers.add(name: "x-strates-parent-run", value: parent) }
        let body = #"{"model":"gpt-4o-mini","max_tokens":400,"messages":[\#(messages.joined(separator: ","))]\#(tools ? #","tools":\#(Self.tools)"# : "")}"#
        request.body = .bytes(ByteBuffer(string: body))
        let response: HTTPClientResponse
        do {
            response = try await client.execute(request, timeout: .seconds(30))
        } catch {
            throw DemoError("cannot reach Strates at \(url): \(error). Start it first: strates serve")
        }
        _ = try await response.body.collect(upTo: 1 << 22)
        summary.requests += 1
        guard response.status.code < 300 else {
            summary.refused += 1
            guard response.status.code == 403 || response.status.code == 429 else {
                throw DemoError("Strates answered \(response.status.code) to the demo's request; is it running with the simulated provider?")
            }
            return
        }
    }

    func record(_ outcome: Outcome, _ summary: inout Summary) async throws {
        if try await ledger.record(outcome) { summary.outcomes += 1 }
    }
}

public struct DemoError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
