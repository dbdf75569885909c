/// Deterministic pseudo-random numbers (SplitMix64) and text for the simulated provider.
struct SimRandom: RandomNumberGenerator {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func next(in range: ClosedRange<Int>) -> Int {
        let span = UInt64(range.upperBound - range.lowerBound + 1)
        return range.lowerBound + Int(next() % span)
    }

    /// FNV-1a over the bytes: the seed of a request, so equal requests get equal replies.
    static func hash<Bytes: Sequence>(_ bytes: Bytes) -> UInt64 where Bytes.Element == UInt8 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in bytes {
            hash ^= UInt64(byte)
            hash &*= 0x100_0000_01B3
        }
        return hash
    }

    static let words = [
        "the", "model", "token", "budget", "agent", "run", "cache", "prompt", "reply", "code", "test", "commit",
        "review", "plan", "step", "tool", "call", "result", "value", "cost", "route", "ledger", "team", "stream",
        "simulated", "output", "input", "context", "window", "merge", "deploy", "branch", "fix", "build", "check", "and",
    ]

    /// `count` words, one per token, each with a trailing space but the last.
    mutating func tokens(_ count: Int) -> [String] {
        (0..<count).map { index in
            let word = Self.words[Int(next() % UInt64(Self.words.count))]
            return index == count - 1 ? word : word + " "
        }
    }

    mutating func hex(_ digits: Int) -> String {
        var out = ""
        while out.count < digits { out += String(next(), radix: 16) }
        return String(out.prefix(digits))
    }
}
