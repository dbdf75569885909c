import Foundation
import StratesAnalytics
import StratesCore

/// A report as one CSV table: a header and rows of text, every field escaped by the one
/// CSV writer (`CSVText`) when written.
public protocol CSVRepresentable {
    var csvHeader: [String] { get }
    var csvRows: [[String]] { get }
}

/// A report the CLI and the API give as JSON or as CSV.
public typealias ReportBody = APIRepresentable & CSVRepresentable

public enum APICSV {
    public static func text(_ value: some CSVRepresentable) -> String {
        CSVText.document(header: value.csvHeader, rows: value.csvRows)
    }
}

/// Decimal rounding for ratios and shares in reports: `places` digits after the point.
func rounded(_ value: Double, places: Int) -> Double {
    let scale = pow(10, Double(places))
    return (value * scale).rounded() / scale
}

/// `rounded` as CSV text (`0.5`, `12.0`).
func roundedText(_ value: Double, places: Int) -> String { String(rounded(value, places: places)) }
