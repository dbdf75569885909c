/// CSV fields as payroll and spreadsheet tools read them.
public enum CSVText {
    /// RFC 4180: quoted when it holds a comma, a quote or a line break. Text starting with
    /// `=`, `+`, `@` or a `-` that is not a number gets a leading `'`, so that a spreadsheet
    /// does not run a member or team name as a formula.
    public static func field(_ text: String) -> String {
        var text = text
        if let first = text.first, "=+@".contains(first) || (first == "-" && Double(text) == nil) { text = "'" + text }
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
