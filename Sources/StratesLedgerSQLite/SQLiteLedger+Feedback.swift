import Foundation
import GRDB
import StratesCore
import StratesLedger

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

    public func tierRecords(since: Date) async throws -> TierBook {
        // A request's tier: where auto routing sent it, else the route or model it asked for.
        let scored = """
            SELECT COALESCE(r.auto_tier, r.route, r.requested_model) AS tier, r.task_class AS task_class, SUM(f.score) AS total, COUNT(*) AS samples
            FROM feedback f JOIN requests r ON JOINED
            WHERE f.at >= ? AND r.task_class IS NOT NULL AND r.status != 'rejected'
            GROUP BY 1, 2
            """
        let sql =
            scored.replacingOccurrences(of: "JOINED", with: "r.id = f.request_id") + " UNION ALL "
            + scored.replacingOccurrences(of: "JOINED", with: "r.run = f.run")
        return try await writer.read { db in
            var book = TierBook()
            let since = Self.millis(since)
            for row in try Row.fetchAll(db, sql: sql, arguments: [since, since]) {
                book.add(tier: row["tier"], taskClass: row["task_class"], record: TierRecord(scoreSum: row["total"], samples: row["samples"]))
            }
            return book
        }
    }

    public func feedbackMark() async throws -> String {
        try await writer.read { db in
            try String.fetchOne(db, sql: "SELECT COUNT(*) || ':' || COALESCE(MAX(at), 0) FROM feedback") ?? ""
        }
    }

    public func teams(ofRun run: String) async throws -> [String?] {
        try await writer.read { db in
            try Row.fetchAll(db, sql: "SELECT DISTINCT team FROM requests WHERE run = ?", arguments: [run]).map { $0["team"] as String? }
        }
    }
}
