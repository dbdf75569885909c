import StratesTestSupport
import Testing

@testable import StratesAnalytics

/// The import's map of responses behaves as a Dictionary does, under random sets, updates,
/// look-ups and clears, with keys that collide in the bits it places them by.
@Suite struct ResponseTableTests {
    @Test(arguments: [1, 2, 3]) func agreesWithADictionary(seed: UInt64) {
        var random = LedgerSamples.Seeded(state: seed)
        var table = ResponseTable<Int>()
        var reference: [ResponseKey: Int] = [:]
        // Few distinct low words, so many keys share a home slot and probe past each other.
        func key() -> ResponseKey { ResponseKey(high: UInt64(random.next(3_000)), low: UInt64(random.next(64)) << 40 | UInt64(random.next(4))) }
        for step in 0..<40_000 {
            let k = key()
            switch random.next(10) {
            case 0..<5:
                table.set(k, step)
                reference[k] = step
            case 5..<7:
                let changed = table.update(k) { $0 += 1 }
                #expect(changed == (reference[k] != nil))
                reference[k]? += 1
            case 7..<9:
                #expect(table[k] == reference[k])
                #expect(table.contains(k) == (reference[k] != nil))
            default:
                if random.next(200) == 0 {
                    table.removeAll()
                    reference.removeAll()
                }
            }
            #expect(table.count == reference.count)
        }
        var values: [Int] = []
        table.forEachValue { values.append($0) }
        #expect(values.sorted() == reference.values.sorted())
        for (k, value) in reference { #expect(table[k] == value) }
    }

    @Test func growsPastItsFirstCapacityKeepingEveryKey() {
        var table = ResponseTable<UInt64>(capacity: 4)
        for index in UInt64(0)..<100_000 { table.set(ResponseKey(high: index, low: index &* 0x9E37_79B9_7F4A_7C15), index) }
        #expect(table.count == 100_000)
        #expect((0..<100_000).allSatisfy { table[ResponseKey(high: UInt64($0), low: UInt64($0) &* 0x9E37_79B9_7F4A_7C15)] == UInt64($0) })
        #expect(table[ResponseKey(high: 1, low: 2)] == nil)
    }
}
