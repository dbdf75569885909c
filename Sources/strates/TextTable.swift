/// Prints rows as left-aligned columns, the first row being the header.
enum TextTable {
    static func print(_ rows: [[String]]) {
        guard let first = rows.first else { return }
        let widths = (0..<first.count).map { column in rows.map { $0[column].count }.max() ?? 0 }
        for row in rows {
            Swift.print(row.enumerated().map { $1.padding(toLength: widths[$0], withPad: " ", startingAt: 0) }.joined(separator: "  "))
        }
    }
}
