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
}
