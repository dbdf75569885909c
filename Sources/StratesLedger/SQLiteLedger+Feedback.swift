import Foundation
import GRDB
import StratesCore

extension SQLiteLedger {
    public func record(_ feedback: Feedback) async throws {
        try await writer.write { db in
            try db.execute(
                sql: "INSERT INTO feedback (id, at, request_id, run, score, source, comment) VALUES (?, ?, ?, ?, ?, ?, ?)",
                arguments: [feedback.id, Self.millis(feedback.at), feedback.requestID, feedback.run, feedback.score, feedback.source, feedback.comment]
            )
        }
    }

    public func feedback(run: String?, requestID: String?) async throws -> [Feedback] {
        try await writer.read { db in
            try Row.fetchAll(
                db, sql: "SELECT * FROM feedback WHERE (? IS NULL OR run = ?) AND (? IS NULL OR request_id = ?) ORDER BY at DESC LIMIT 1000",
                arguments: [run, run, requestID, requestID]
            ).map { row in
                Feedback(
                    id: row["id"], at: Date(timeIntervalSince1970: Double(row["at"] as Int64) / 1000), requestID: row["request_id"], run: row["run"],
                    score: row["score"], source: row["source"], comment: row["comment"]
                )
            }
        }
    }

    public func teams(ofRun run: String) async throws -> [String?] {
        try await writer.read { db in
            try Row.fetchAll(db, sql: "SELECT DISTINCT team FROM requests WHERE run = ?", arguments: [run]).map { $0["team"] as String? }
        }
    }
}
