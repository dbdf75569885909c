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
        SHA256.hash(data: Data(secret.utf8)).map { String($0, radix: 16).leftPadded(to: 2) }.joined()
    }

    /// Random lowercase hex, for ids.
    public static func randomHex(_ bytes: Int) -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<bytes).map { _ in String(UInt8.random(in: 0...255, using: &generator), radix: 16).leftPadded(to: 2) }.joined()
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

extension String {
    func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
