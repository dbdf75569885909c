import StratesServer
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
