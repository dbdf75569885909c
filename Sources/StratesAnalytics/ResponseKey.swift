import StratesCore
import StratesGateway
import StratesWire

/// A transcript response's identity in 16 bytes: the first half of the SHA-256 of its
/// identity text. An import keeps a million of them in several maps; hashing and comparing
/// two words is a fraction of the cost of the 40–80-byte identity strings they stand for.
/// The ledger id is made from the same digest (`ledgerHex`), so two identities with one key
/// would be one ledger row in any case.
struct ResponseKey: Hashable, Sendable {
    var high: UInt64
    var low: UInt64

    init(high: UInt64, low: UInt64) {
        (self.high, self.low) = (high, low)
    }

    init(_ response: TranscriptResponse) {
        (high, low) = KeySecrets.hashWords(response.identity)
    }

    func hash(into hasher: inout Hasher) {
        // The words are already uniformly distributed; one of them is plenty to hash.
        hasher.combine(low)
    }

    /// The digest's first 12 bytes in lowercase hex: `KeySecrets.hash(identity).prefix(24)`,
    /// the part of an imported record's id after its prefix.
    var ledgerHex: String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(12)
        withUnsafeBytes(of: high.bigEndian) { bytes += $0 }
        withUnsafeBytes(of: low.bigEndian) { bytes += $0.prefix(4) }
        return JSONText.hex(bytes)
    }
}
