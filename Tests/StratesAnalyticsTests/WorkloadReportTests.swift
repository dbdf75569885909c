import Foundation
import StratesTestSupport
import Testing

@testable import StratesAnalytics
@testable import StratesCore
@testable import StratesServer

@Suite struct SpreadTests {
    /// Selecting ranks gives what sorting gives, duplicates and all.
    @Test(arguments: [1, 2, 3, 10, 101, 1_000] as [Int])
    func selectedRanksMatchASortedCopy(count: Int) {
        var state: UInt64 = UInt64(count)
        for _ in 0..<20 {
            let values = (0..<count).map { _ -> Double in
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                return Double((state >> 40) % 37)
            }
            let sorted = values.sorted()
            let spread = WorkloadReport.Spread.of(values)
            func at(_ q: Double) -> Double { sorted[min(sorted.count - 1, Int((q * Double(sorted.count - 1)).rounded()))] }
            #expect(spread.p50 == at(0.5) && spread.p90 == at(0.9) && spread.max == sorted.last)
        }
    }
}

/// The workload report: runs spread per class and per class and workflow.
@Suite struct WorkloadReportTests {
    static let start = Date(timeIntervalSince1970: 1_795_132_800)

    @Test func theReportSpreadsRunsPerClassAndWorkflow() {
        let runs = (1...10).map {
            RunProfile.make(
                run: "r\($0)", workflow: $0 <= 7 ? "fix" : "docs", calls: RunCall.sequence(Array(repeating: true, count: $0 + 2), start: Self.start),
                childRuns: 0, rules: WorkloadRules())
        }
        let report = WorkloadReport.make(
            runs: runs, callsWithoutRun: 4, rules: WorkloadRules(), since: Self.start, until: Self.start.addingTimeInterval(86_400))
        #expect(report.lines.map { $0.workflow ?? $0.workload.rawValue } == ["autonomous", "fix", "docs"])
        let all = report.lines[0]
        #expect(all.runs == 10 && all.calls.p50 == 8 && all.calls.p90 == 11 && all.calls.max == 12)
        #expect(abs(all.cacheReadShare - Double(800 * runs.reduce(0) { $0 + $1.calls }) / Double(runs.reduce(0) { $0 + $1.context })) < 1e-12)
        #expect(APIJSON.text(report).contains(#""calls_without_run":4"#) && report.table.count == 4)
    }
}
