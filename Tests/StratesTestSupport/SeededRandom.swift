import Foundation

/// Pseudo-random numbers for property and fuzz tests, repeatable from a seed. Each test
/// passes its own default seed; `STRATES_TEST_SEED` replaces every default, to look for
/// failures under other seeds or to replay one. The seed in use is printed, so a failure
/// in CI says how to reproduce it.
public struct SeededRandom: RandomNumberGenerator {
    public let seed: UInt64
    private var state: UInt64

    /// `stream` gives tasks of one test generators of their own from the test's seed (only
    /// the first prints it).
    public init(_ defaultSeed: UInt64, stream: UInt64 = 0, test: String = #function) {
        let chosen = ProcessInfo.processInfo.environment["STRATES_TEST_SEED"].flatMap(UInt64.init) ?? defaultSeed
        seed = chosen
        state = chosen &+ stream &* 0xD1B5_4A32_D192_ED03
        if stream == 0 { print("\(test): seed \(chosen) (STRATES_TEST_SEED=\(chosen) repeats it)") }
    }

    /// SplitMix64.
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A whole number in `range`.
    public mutating func next(in range: ClosedRange<Int>) -> Int {
        Int.random(in: range, using: &self)
    }
}
