import Foundation
import StratesCore
import StratesLedger
import Synchronization

/// Resolves the key a request carries to its stored record, with a short cache so the hot
/// path does not query the database per request. A revoked key stops working within
/// `cacheTTL` on a running gateway; an unknown key is remembered for `missTTL` only, so a
/// key created just after someone tried it works at once.
public final class Authenticator: Sendable {
    let store: any KeyStore
    let cacheTTL: Duration
    let missTTL: Duration
    let now: @Sendable () -> ContinuousClock.Instant
    let cache = Mutex<[String: (key: APIKey?, expires: ContinuousClock.Instant)]>([:])

    public init(
        store: any KeyStore, cacheTTL: Duration = .seconds(5), missTTL: Duration = .seconds(1),
        now: @escaping @Sendable () -> ContinuousClock.Instant = { .now }
    ) {
        self.store = store
        self.cacheTTL = cacheTTL
        self.missTTL = missTTL
        self.now = now
    }

    /// The secret from `Authorization: Bearer …`, `x-api-key` or `api-key`.
    public static func secret(from headers: [(name: String, value: String)]) -> String? {
        for (name, value) in headers {
            switch name {
            case "authorization":
                let trimmed = trimSpaces(Substring(value))
                guard trimmed.count > 7, trimmed.prefix(7).lowercased() == "bearer " else { continue }
                let token = trimSpaces(trimmed.dropFirst(7))
                if !token.isEmpty { return String(token) }
            case "x-api-key", "api-key":
                let token = trimSpaces(Substring(value))
                if !token.isEmpty { return String(token) }
            default:
                continue
            }
        }
        return nil
    }

    static func trimSpaces(_ text: Substring) -> Substring {
        var text = text
        while let first = text.first, first == " " || first == "\t" { text = text.dropFirst() }
        while let last = text.last, last == " " || last == "\t" { text = text.dropLast() }
        return text
    }

    public func authenticate(headers: [(name: String, value: String)], now: Date = Date()) async throws(GatewayError) -> APIKey {
        guard let secret = Self.secret(from: headers) else { throw .missingKey }
        let hash = KeySecrets.hash(secret)
        let instant = self.now()
        let cached = cache.withLock { $0[hash] }
        let key: APIKey?
        if let cached, cached.expires > instant {
            key = cached.key
        } else {
            do {
                key = try await store.key(hash: hash)
            } catch {
                throw GatewayError(
                    status: 503, message: "Strates could not check the API key (ledger unavailable). Try again shortly.", code: "auth_unavailable")
            }
            cache.withLock { cache in
                if cache.count > 100_000 { cache.removeAll() }
                cache[hash] = (key, instant + (key == nil ? missTTL : cacheTTL))
            }
        }
        guard let key, key.isActive(at: now) else { throw .invalidKey }
        return key
    }

    /// Forgets cached lookups, so a change made through this process applies at once.
    public func invalidate() {
        cache.withLock { $0.removeAll() }
    }
}
