import GRDB
import GRDBSQLite
import StratesCore
import StratesLedger

/// Folding requests just written into the rollups from the records in memory: summed per
/// hour and dimensions in a dictionary, then one upsert per cell. The same sums as
/// `usageFold` over the rows (the rollup property tests compare both with the requests),
/// without SQLite sorting every batch's rows by eleven columns twice: that sort was a large
/// share of an import's write time.
extension Rollups {
    /// One rollup row's key: the hour (or day) and the dimensions, as `sourceColumns` reads them.
    struct Cell: Hashable {
        var unit: Int64
        var dimensions: [String]
    }

    /// One rollup row's measures, in `measures` order.
    struct Sums {
        var values = [Int64](repeating: 0, count: Rollups.measures.count)

        mutating func add(_ r: RequestRecord) {
            let row: [Int64] = [
                1, r.usage.input, r.usage.output, r.usage.cacheRead, r.usage.cacheWrite5m, r.usage.cacheWrite1h,
                r.usage.reasoning, r.cost?.value ?? 0, r.cost == nil ? 1 : 0, r.usageEstimated ? 1 : 0,
                r.status == .failed || r.status == .rejected ? 1 : 0, r.attribution.run == nil ? 1 : 0,
            ]
            for index in values.indices { values[index] = values[index].saturatingAdd(row[index]) }
        }

        mutating func add(_ other: Sums) {
            for index in values.indices { values[index] += other.values[index] }
        }
    }

    /// A record's dimensions, as `sourceColumns` reads them from its row.
    static func dimensions(of r: RequestRecord) -> [String] {
        let a = r.attribution
        return [
            a.organization ?? "", a.team ?? "", a.member ?? "", a.keyID ?? "", a.workflow ?? "", a.process ?? "", r.servedModel ?? r.requestedModel,
            r.provider ?? "", a.environment.rawValue, r.status.rawValue,
        ]
    }

    /// Whether `r` has the dimensions `dimensions(of:)` gave for another record.
    static func has(_ r: RequestRecord, _ dimensions: [String]) -> Bool {
        let a = r.attribution
        return (r.servedModel ?? r.requestedModel) == dimensions[6] && (a.team ?? "") == dimensions[1]
            && (a.member ?? "") == dimensions[2] && (a.workflow ?? "") == dimensions[4] && (a.process ?? "") == dimensions[5]
            && (a.organization ?? "") == dimensions[0] && (a.keyID ?? "") == dimensions[3] && (r.provider ?? "") == dimensions[7]
            && a.environment.rawValue == dimensions[8] && r.status.rawValue == dimensions[9]
    }

    /// Adds `records` (rows just inserted) to the hourly and daily sums and marks their runs
    /// for profiling.
    static func fold(records: some Sequence<RequestRecord>, _ db: Database) throws {
        var tally = Tally()
        tally.add(records)
        try tally.write(db)
    }

    /// Sums of records by rollup cell, and their runs, in memory until written. Records come
    /// in runs (an import's session, a batch of one client's calls): one of the same hour and
    /// dimensions as the record before is added to that record's cell without building and
    /// hashing its key again.
    struct Tally: Sendable {
        var hours: [Cell: Sums] = [:]
        var roots = Set<String>()
        var current: (cell: Cell, sums: Sums)?
        var root = ""

        mutating func add(_ records: some Sequence<RequestRecord>) {
            for record in records {
                let unit = SQLiteLedger.millis(record.startedAt) / hourly.unit
                if let cell = current?.cell, cell.unit == unit, has(record, cell.dimensions) {
                    current?.sums.add(record)
                } else {
                    closeCurrent()
                    var sums = Sums()
                    sums.add(record)
                    current = (Cell(unit: unit, dimensions: dimensions(of: record)), sums)
                }
                if let run = record.attribution.run {
                    let runRoot = record.attribution.parentRun ?? run
                    if runRoot != root {
                        roots.insert(runRoot)
                        root = runRoot
                    }
                }
            }
        }

        /// Adds the running cell's sums to the map.
        mutating func closeCurrent() {
            if let current { hours[current.cell, default: Sums()].add(current.sums) }
            current = nil
        }

        /// Adds the sums to the rollup rows and marks the runs for profiling. The running cell
        /// is closed into the map in place (taking a copy of the map first copied all of it on
        /// every call, a gateway batch included).
        mutating func write(_ db: Database) throws {
            closeCurrent()
            guard !hours.isEmpty else { return }
            // A day is 24 whole hours, so an hour's day is its hour / 24 (truncating division
            // composes: (m / 3.6e6) / 24 == m / 8.64e7 for every integer m).
            let hoursPerDay = daily.unit / hourly.unit
            var days: [Cell: Sums] = [:]
            for (cell, sums) in hours { days[Cell(unit: cell.unit / hoursPerDay, dimensions: cell.dimensions), default: Sums()].add(sums) }
            for (level, cells) in [(hourly, hours), (daily, days)] {
                let statement = try db.cachedStatement(sql: upsert(level))
                let handle = statement.sqliteStatement
                for (cell, sums) in cells {
                    sqlite3_reset(handle)
                    var binder = RecordBinding.Binder(handle: handle)
                    binder.int(cell.unit)
                    for value in cell.dimensions { binder.text(value) }
                    for value in sums.values { binder.int(value) }
                    try binder.step(statement, in: db)
                }
            }
            let dirty = try db.cachedStatement(sql: "INSERT OR IGNORE INTO run_dirty (root) VALUES (?)")
            for root in roots { try dirty.execute(arguments: [root]) }
        }
    }

    /// Adds one cell's sums to a rollup row, making it when new.
    static func upsert(_ level: Level) -> String {
        let columns = [level.column] + dimensions + measures
        return """
            INSERT INTO \(level.table) (\(columns.joined(separator: ", "))) VALUES (\(columns.map { _ in "?" }.joined(separator: ", ")))
            ON CONFLICT DO UPDATE SET \(accumulate)
            """
    }
}
