import Crypto
import Foundation
import StratesCore

/// Making and hashing virtual key secrets. Only the SHA-256 of a secret is ever stored.
public enum KeySecrets {
    public static let prefix = "sk-strates-"
    static let alphabet = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")

    /// A new secret: the prefix and 40 base62 characters (about 238 bits of randomness).
    public static func generate() -> String {
        var generator = SystemRandomNumberGenerator()
        return prefix + String((0..<40).map { _ in alphabet[Int(generator.next() % UInt64(alphabet.count))] })
    }

    public static func hash(_ secret: String) -> String {
        JSONText.hex(SHA256.hash(data: Data(secret.utf8)))
    }

    /// The first 16 bytes of `hash(text)`'s digest as two big-endian words: a compact key
    /// for text that is only ever compared, where `hash` would build a 64-digit string.
    public static func hashWords(_ text: String) -> (UInt64, UInt64) {
        var text = text
        let digest = text.withUTF8 { SHA256.hash(data: UnsafeRawBufferPointer($0)) }
        return digest.withUnsafeBytes { bytes in
            (UInt64(bigEndian: bytes.loadUnaligned(as: UInt64.self)), UInt64(bigEndian: bytes.loadUnaligned(fromByteOffset: 8, as: UInt64.self)))
        }
    }

    /// Random lowercase hex, for ids.
    public static func randomHex(_ bytes: Int) -> String {
        var generator = SystemRandomNumberGenerator()
        var raw: [UInt8] = []
        raw.reserveCapacity(bytes + 7)
        while raw.count < bytes {
            withUnsafeBytes(of: generator.next()) { raw.append(contentsOf: $0) }
        }
        return JSONText.hex(raw.prefix(bytes))
    }

    /// Builds the stored form of a new key; the caller shows `secret` once and forgets it.
    public static func makeKey(
        name: String?, role: KeyRole, organization: String, team: String?, member: String?, service: String?,
        environment: Environment, workflow: String?, expiresAt: Date?, now: Date = Date()
    ) -> (secret: String, key: APIKey) {
        let secret = generate()
        let key = APIKey(
            id: "key_" + randomHex(8), hash: hash(secret), prefix: String(secret.prefix(prefix.count + 4)),
            name: name, role: role, organization: organization, team: team, member: member, service: service,
            environment: environment, workflow: workflow, createdAt: now, expiresAt: expiresAt
        )
        return (secret, key)
    }

    /// Whether `header` (GitHub's `X-Hub-Signature-256: sha256=<hex>`) signs `body` with
    /// `secret`; compared in constant time.
    public static func validGitHubSignature(_ header: String?, body: [UInt8], secret: String) -> Bool {
        guard let header, header.hasPrefix("sha256="), let code = hexBytes(header.dropFirst(7)) else { return false }
        return HMAC<SHA256>.isValidAuthenticationCode(code, authenticating: body, using: SymmetricKey(data: Data(secret.utf8)))
    }

    /// Whether a presented bearer token is the configured one, in time that does not depend
    /// on where they differ (both are hashed first, and digests compare in constant time).
    public static func sameToken(_ presented: String, _ expected: String) -> Bool {
        SHA256.hash(data: Data(presented.utf8)) == SHA256.hash(data: Data(expected.utf8))
    }

    /// The HMAC-SHA256 of `body` with `secret`, as GitHub puts it in `X-Hub-Signature-256`.
    public static func gitHubSignature(_ body: [UInt8], secret: String) -> String {
        "sha256=" + JSONText.hex(HMAC<SHA256>.authenticationCode(for: body, using: SymmetricKey(data: Data(secret.utf8))))
    }

    static func hexBytes(_ text: Substring) -> [UInt8]? {
        guard text.count % 2 == 0 else { return nil }
        var bytes: [UInt8] = []
        var index = text.startIndex
        while index < text.endIndex {
            let next = text.index(index, offsetBy: 2)
            guard let byte = UInt8(text[index..<next], radix: 16) else { return nil }
            bytes.append(byte)
            index = next
        }
        return bytes
    }
}
