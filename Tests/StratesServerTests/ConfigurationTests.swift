import Logging
import StratesServer
import Synchronization
import Testing

/// Where a provider's credential comes from, in order: a file, the variable the config
/// names, a key written in the config (only when allowed), the kind's default variable.
@Suite struct ProviderCredentialTests {
    func check(_ provider: String, environment: [String: String] = [:]) -> String? {
        do {
            let configuration = try ConfigurationReader.read(yaml: "providers:\n  up: \(provider)\n")
            try StratesRuntime.checkCredentials(configuration, environment: environment)
            return nil
        } catch {
            return "\(error)"
        }
    }

    @Test func aKeyWrittenInTheConfigIsUsedWhenAllowed() {
        #expect(check("{kind: anthropic, api_key: k, allow_plaintext_key: true}") == nil)
        #expect(check("{kind: anthropic, api_key: k}")?.contains("a provider key written in the config is refused") == true)
    }

    @Test func theKindsDefaultVariableIsTheLastResort() {
        #expect(check("{kind: anthropic}")?.contains("the environment variable ANTHROPIC_API_KEY is not set") == true)
        #expect(check("{kind: anthropic}", environment: ["ANTHROPIC_API_KEY": "k"]) == nil)
        // A variable the config names wins over a written key.
        #expect(check("{kind: anthropic, api_key_env: TEAM_KEY, api_key: k, allow_plaintext_key: true}")?.contains("TEAM_KEY is not set") == true)
    }
}

@Suite struct LogHandlerTests {
    @Test func linesKeepTheStreamFormatWithMetadataRenderedWhenWritten() {
        let lines = Mutex<[String]>([])
        var logger = Logger(label: "strates") { StratesLogHandler(label: $0) { line in lines.withLock { $0.append(line) } } }
        logger.logLevel = .info
        logger[metadataKey: "strates_request_id"] = "req_1"
        logger.debug("not written")
        logger.notice("request cut", metadata: ["api": "messages", "status": "cut"])
        let written = lines.withLock { $0 }
        #expect(written.count == 1)
        let line = written.first ?? ""
        #expect(line.hasSuffix(" notice strates: api=messages status=cut strates_request_id=req_1 [StratesServerTests] request cut\n"), "\(line)")
        #expect(line.range(of: #"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d{4} "#, options: .regularExpression) != nil, "\(line)")
    }
}
