import StratesTestSupport
import Testing

@testable import StratesProviders

/// The upstream client reads its host, port, scheme and base path from a provider's
/// `base_url`; anything else is a configuration error, never a crash.
@Suite struct UpstreamOriginTests {
    @Test(arguments: [
        ("http://127.0.0.1:8000/v1", "127.0.0.1", 8000, false, "/v1", "127.0.0.1:8000"),
        ("https://api.openai.com/v1", "api.openai.com", 443, true, "/v1", "api.openai.com"),
        ("https://api.anthropic.com", "api.anthropic.com", 443, true, "", "api.anthropic.com"),
        ("http://localhost/", "localhost", 80, false, "", "localhost"),
        (
            "https://example.openai.azure.com:8443/openai/deployments/x/", "example.openai.azure.com", 8443, true, "/openai/deployments/x",
            "example.openai.azure.com:8443"
        ),
        ("http://[::1]:9000/v1", "::1", 9000, false, "/v1", "[::1]:9000"),
        ("http://user:secret@gateway.internal:81/v1", "gateway.internal", 81, false, "/v1", "gateway.internal:81"),
    ])
    func readsEveryPart(url: String, host: String, port: Int, tls: Bool, path: String, hostHeader: String) throws {
        let origin = try #require(UpstreamOrigin(url: url))
        #expect(origin.host == host)
        #expect(origin.port == port)
        #expect(origin.tls == tls)
        #expect(origin.basePath == path)
        #expect(origin.hostHeader == hostHeader)
    }

    @Test(arguments: [
        "ftp://host/v1", "api.openai.com/v1", "http://", "http://:80/v1", "http://host:0/v1", "http://host:70000",
        "http://host:abc/v1", "http://[::1/v1", "https://[::1]x/v1", "", "http://host/v1?x=1", "http://ho st/v1", "http://host:+80", "http://host/v 1",
    ])
    func refusesWhatIsNotAnHTTPURL(url: String) {
        #expect(UpstreamOrigin(url: url) == nil)
    }

    /// Random strings built from URL characters: the parser never traps, and whatever it
    /// accepts it accepts again when written back out.
    @Test func fuzzedURLsParseOrAreRefused() {
        let alphabet = Array("http:s/[]@.:0123456789abcxyz-_?#%v1")
        var generator = SeededRandom(115)
        var accepted = 0
        for round in 0..<20_000 {
            let scheme = round % 3 == 0 ? "" : (round % 3 == 1 ? "http://" : "https://")
            let tail = String((0..<Int.random(in: 0...24, using: &generator)).map { _ in alphabet.randomElement(using: &generator)! })
            guard let origin = UpstreamOrigin(url: scheme + tail) else { continue }
            accepted += 1
            #expect(!origin.host.isEmpty && (1...65_535).contains(origin.port))
            #expect(!origin.basePath.hasSuffix("/"))
            let written =
                (origin.tls ? "https://" : "http://") + (origin.host.contains(":") ? "[\(origin.host)]" : origin.host) + ":\(origin.port)" + origin.basePath
            #expect(UpstreamOrigin(url: written) == origin, "\(scheme + tail) -> \(written)")
        }
        #expect(accepted > 100)
    }
}
