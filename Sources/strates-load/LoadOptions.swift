import ArgumentParser
import Foundation

/// `strates-load`: drives HTTP/1.1 POST load at one URL over keep-alive connections and
/// prints what it measured as JSON. The benchmark harness (`bench/run.py`) runs it against
/// the upstream directly, through Strates and through LiteLLM with the same settings.
///
/// It exists because wrk cannot see inside a response: for streams it measures time to
/// first token, the moment the first content delta arrives, which is what a user waits for.
@main
struct LoadCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "strates-load",
        abstract: "Send the same POST request over N keep-alive connections and report latency, time to first token and errors as JSON."
    )

    @Option(help: "The URL to POST to (http only).") var url: String
    @Option(help: "A file holding the request body.") var body: String
    @Option(name: .customLong("header"), help: "A request header, 'Name: value'; repeat for more.") var headers: [String] = []
    @Option(help: "Connections, each with one request in flight at a time.") var concurrency = 1
    @Option(help: "Measure what completes in this many seconds (requests in flight at the end still finish, uncounted).") var duration: Double = 5
    @Option(help: "Stop after this many measured requests, whatever the duration.") var requests: Int?
    @Option(help: "Send requests for this many seconds before measuring.") var warmup: Double = 0
    @Option(help: "Pace the load to this many requests per second in all (default: as fast as the connections go).") var rate: Double?
    @Option(help: "Bytes that open the first token's text in a response body, e.g. '\"content\":\"' (default: the first body byte counts).")
    var firstTokenMarker: String?
    @Option(help: "Give up on a response after this many seconds; it counts as an error.") var timeout: Double = 60

    func validate() throws {
        guard concurrency >= 1 else { throw ValidationError("--concurrency must be at least 1") }
        guard duration > 0 || requests != nil else { throw ValidationError("give a --duration above 0 or a --requests count") }
        guard (try? LoadTarget(url: url)) != nil else { throw ValidationError("--url must look like http://host:port/path") }
        for header in headers where !header.contains(":") { throw ValidationError("--header '\(header)' has no ':'") }
    }

    func run() throws {
        guard let data = FileManager.default.contents(atPath: body) else { throw ValidationError("cannot read --body \(body)") }
        let plan = LoadPlan(
            target: try LoadTarget(url: url),
            headers: headers.map { line in
                let colon = line.firstIndex(of: ":")!
                return (
                    String(line[..<colon]).trimmingCharacters(in: .whitespaces), String(line[line.index(after: colon)...]).trimmingCharacters(in: .whitespaces)
                )
            },
            body: Array(data), concurrency: concurrency, duration: duration, maxRequests: requests, warmup: warmup, rate: rate,
            firstTokenMarker: firstTokenMarker.map { Array($0.utf8) }, timeout: timeout
        )
        let report = try LoadRun.execute(plan)
        FileHandle.standardOutput.write(report.json())
    }
}

/// Where the load goes.
struct LoadTarget {
    var host: String
    var port: Int
    var path: String

    init(url: String) throws {
        guard url.hasPrefix("http://") else { throw ValidationError("only http:// URLs") }
        let rest = url.dropFirst("http://".count)
        let slash = rest.firstIndex(of: "/") ?? rest.endIndex
        let authority = rest[..<slash]
        path = slash == rest.endIndex ? "/" : String(rest[slash...])
        if let colon = authority.lastIndex(of: ":"), let port = Int(authority[authority.index(after: colon)...]) {
            host = String(authority[..<colon])
            self.port = port
        } else {
            host = String(authority)
            port = 80
        }
        guard !host.isEmpty else { throw ValidationError("no host in \(url)") }
    }
}

/// Everything one load run needs.
struct LoadPlan {
    var target: LoadTarget
    var headers: [(String, String)]
    var body: [UInt8]
    var concurrency: Int
    var duration: Double
    var maxRequests: Int?
    var warmup: Double
    var rate: Double?
    var firstTokenMarker: [UInt8]?
    var timeout: Double
}
