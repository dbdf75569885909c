/// A map keyed by `ResponseKey` that does not hash: the keys are digests, so their low bits
/// already spread evenly. Open addressing with linear probing, kept at most half full.
///
/// An import keeps every response it handed on in one of these (a million for a large
/// history) and each batch's in another. Swift's `Dictionary` seeds and finishes a SipHash
/// for every lookup, and hashes every key again each time it grows: a visible share of an
/// import's CPU went to that (BENCHMARKS.md has the import's figures).
struct ResponseTable<Value> {
    private var keys: [ResponseKey]
    private var values: [Value?]
    private var used: [Bool]
    private(set) var count = 0

    init(capacity: Int = 16) {
        var slots = 16
        while slots < capacity * 2 { slots *= 2 }
        keys = Array(repeating: ResponseKey(high: 0, low: 0), count: slots)
        values = Array(repeating: nil, count: slots)
        used = Array(repeating: false, count: slots)
    }

    /// Where `key` is, or the empty slot where it would go.
    private func slot(of key: ResponseKey) -> (index: Int, found: Bool) {
        let mask = used.count - 1
        var index = Int(truncatingIfNeeded: key.low) & mask
        while used[index] {
            if keys[index] == key { return (index, true) }
            index = (index + 1) & mask
        }
        return (index, false)
    }

    subscript(key: ResponseKey) -> Value? {
        let (index, found) = slot(of: key)
        return found ? values[index] : nil
    }

    func contains(_ key: ResponseKey) -> Bool { slot(of: key).found }

    /// Sets the value of `key`, adding it if it is not there.
    mutating func set(_ key: ResponseKey, _ value: Value) {
        let (index, found) = slot(of: key)
        values[index] = value
        guard !found else { return }
        keys[index] = key
        used[index] = true
        count += 1
        if count * 2 > used.count { grow() }
    }

    /// Changes the value of `key` in place; false when `key` is not there.
    @discardableResult
    mutating func update(_ key: ResponseKey, _ change: (inout Value) -> Void) -> Bool {
        let (index, found) = slot(of: key)
        guard found else { return false }
        change(&values[index]!)
        return true
    }

    /// Forgets every key, keeping the memory.
    mutating func removeAll() {
        guard count > 0 else { return }
        for index in used.indices { used[index] = false }
        for index in values.indices { values[index] = nil }
        count = 0
    }

    /// Calls `body` with each value, in no particular order, without copying them out.
    func forEachValue(_ body: (Value) throws -> Void) rethrows {
        for index in used.indices where used[index] { try body(values[index]!) }
    }

    private mutating func grow() {
        var larger = ResponseTable(capacity: used.count)
        for index in used.indices where used[index] {
            larger.set(keys[index], values[index]!)
        }
        self = larger
    }
}

extension ResponseTable: Sendable where Value: Sendable {}
