import StratesCore

/// A report the CLI and the API can give as JSON or as CSV.
public protocol ReportRendering: Sendable {
    var json: String { get }
    var csv: String { get }
}

extension WorkloadReport: ReportRendering {}
extension OutcomeReport: ReportRendering {}
extension EfficiencyReport: ReportRendering {}
extension Forecast: ReportRendering {}

/// The spend spikes of a window, as one report.
public struct SpikeList: ReportRendering {
    public var spikes: [SpendAnomaly]
    public init(_ spikes: [SpendAnomaly]) { self.spikes = spikes }
    public var json: String { SpendAnomaly.listJSON(spikes) }
    public var csv: String { SpendAnomaly.listCSV(spikes) }
}
