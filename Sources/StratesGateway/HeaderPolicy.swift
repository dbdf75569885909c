/// Which headers cross the gateway, in each direction.
public enum HeaderPolicy {
    /// Never forwarded upstream: the client's Strates key in any header a provider reads
    /// keys from, the organisation and project a call bills to (the provider key's owner
    /// chooses those, in the provider's `headers`, not a client), hop-by-hop fields, fields the
    /// HTTP client sets itself, and Strates' own attribution headers.
    static let dropUpstream: Set<String> = [
        "authorization", "x-api-key", "api-key", "x-goog-api-key", "anthropic-api-key", "cookie", "host",
        "content-length", "transfer-encoding", "connection", "keep-alive", "proxy-authorization", "proxy-connection",
        "te", "trailer", "upgrade", "accept-encoding", "content-type", "expect", "openai-organization", "openai-project",
    ]

    public static func upstream(_ headers: [(name: String, value: String)]) -> [(name: String, value: String)] {
        headers.filter { header in
            !dropUpstream.contains(header.name) && !header.name.hasPrefix("x-strates-") && !header.value.contains("sk-strates-")
        }
    }

    /// Not passed back to the client: hop-by-hop fields, framing the server redoes, and what
    /// belongs to Strates' provider account (its organisation and project, its cookies).
    static let dropDownstream: Set<String> = [
        "content-length", "transfer-encoding", "connection", "keep-alive", "content-encoding", "trailer", "upgrade",
        "proxy-connection", "date", "server", "alt-svc", "openai-organization", "openai-project", "set-cookie",
    ]

    public static func downstream(_ headers: [(name: String, value: String)]) -> [(name: String, value: String)] {
        headers.compactMap { header in
            let name = header.name.lowercased()
            return dropDownstream.contains(name) ? nil : (name, header.value)
        }
    }

    /// `text` as a header value may carry it: printable ASCII, anything else as `?`.
    static func printable(_ text: String) -> String {
        String(String.UnicodeScalarView(text.unicodeScalars.map { (0x20...0x7E).contains($0.value) ? $0 : "?" }))
    }
}
