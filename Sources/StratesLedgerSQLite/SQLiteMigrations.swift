import GRDB

/// Named migrations of the SQLite schema. A migration is never edited once shipped;
/// changes come as new migrations.
enum SQLiteMigrations {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("001_directory_keys_requests_prices") { db in
            try db.execute(
                sql: """
                    CREATE TABLE organizations (
                        name TEXT PRIMARY KEY,
                        created_at INTEGER NOT NULL
                    );
                    CREATE TABLE teams (
                        organization TEXT NOT NULL REFERENCES organizations(name),
                        name TEXT NOT NULL,
                        created_at INTEGER NOT NULL,
                        PRIMARY KEY (organization, name)
                    );
                    CREATE TABLE members (
                        organization TEXT NOT NULL REFERENCES organizations(name),
                        name TEXT NOT NULL,
                        created_at INTEGER NOT NULL,
                        PRIMARY KEY (organization, name)
                    );
                    CREATE TABLE team_members (
                        organization TEXT NOT NULL,
                        team TEXT NOT NULL,
                        member TEXT NOT NULL,
                        PRIMARY KEY (organization, team, member)
                    );
                    CREATE TABLE services (
                        organization TEXT NOT NULL REFERENCES organizations(name),
                        name TEXT NOT NULL,
                        created_at INTEGER NOT NULL,
                        PRIMARY KEY (organization, name)
                    );
                    CREATE TABLE api_keys (
                        id TEXT PRIMARY KEY,
                        hash TEXT NOT NULL UNIQUE,
                        prefix TEXT NOT NULL,
                        name TEXT,
                        role TEXT NOT NULL,
                        organization TEXT NOT NULL,
                        team TEXT,
                        member TEXT,
                        service TEXT,
                        environment TEXT NOT NULL,
                        workflow TEXT,
                        created_at INTEGER NOT NULL,
                        expires_at INTEGER,
                        revoked_at INTEGER
                    );
                    CREATE TABLE requests (
                        id TEXT PRIMARY KEY,
                        started_at INTEGER NOT NULL,
                        ended_at INTEGER,
                        api TEXT NOT NULL,
                        stream INTEGER NOT NULL,
                        status TEXT NOT NULL,
                        http_status INTEGER,
                        key_id TEXT,
                        organization TEXT,
                        team TEXT,
                        member TEXT,
                        service TEXT,
                        environment TEXT NOT NULL,
                        workflow TEXT,
                        run TEXT,
                        parent_run TEXT,
                        process TEXT,
                        end_user TEXT,
                        trace_id TEXT,
                        requested_model TEXT NOT NULL,
                        served_model TEXT,
                        provider TEXT,
                        upstream_request_id TEXT,
                        latency_ms INTEGER,
                        ttft_ms INTEGER,
                        input_tokens INTEGER NOT NULL,
                        output_tokens INTEGER NOT NULL,
                        cache_read_tokens INTEGER NOT NULL,
                        cache_write_5m_tokens INTEGER NOT NULL,
                        cache_write_1h_tokens INTEGER NOT NULL,
                        reasoning_tokens INTEGER NOT NULL,
                        usage_estimated INTEGER NOT NULL,
                        cost_nano INTEGER,
                        error TEXT,
                        input_estimate INTEGER NOT NULL
                    );
                    CREATE INDEX requests_started_at ON requests (started_at);
                    CREATE INDEX requests_team_started_at ON requests (team, started_at);
                    CREATE INDEX requests_member_started_at ON requests (member, started_at);
                    CREATE INDEX requests_key_started_at ON requests (key_id, started_at);
                    CREATE INDEX requests_workflow_started_at ON requests (workflow, started_at);
                    CREATE INDEX requests_run ON requests (run);
                    CREATE TABLE prices (
                        provider TEXT NOT NULL,
                        model TEXT NOT NULL,
                        effective_from INTEGER NOT NULL,
                        source TEXT NOT NULL,
                        price_json TEXT NOT NULL,
                        imported_at INTEGER NOT NULL,
                        PRIMARY KEY (provider, model, effective_from)
                    );
                    """)
        }
        migrator.registerMigration("002_requests_service_tier") { db in
            try db.execute(sql: "ALTER TABLE requests ADD COLUMN service_tier TEXT NOT NULL DEFAULT 'standard'")
        }
        migrator.registerMigration("003_budgets") { db in
            try db.execute(
                sql: """
                    CREATE TABLE budgets (
                        id TEXT PRIMARY KEY,
                        name TEXT NOT NULL UNIQUE,
                        scope_kind TEXT NOT NULL,
                        scope_value TEXT NOT NULL,
                        period TEXT NOT NULL,
                        time_zone TEXT NOT NULL,
                        unit TEXT NOT NULL,
                        limit_amount INTEGER NOT NULL,
                        enforcement TEXT NOT NULL,
                        when_exhausted TEXT NOT NULL,
                        alert_thresholds TEXT NOT NULL,
                        created_at INTEGER NOT NULL,
                        updated_at INTEGER NOT NULL
                    );
                    CREATE TABLE budget_alerts (
                        budget_id TEXT NOT NULL,
                        window_start INTEGER NOT NULL,
                        threshold INTEGER NOT NULL,
                        sent_at INTEGER NOT NULL,
                        PRIMARY KEY (budget_id, window_start, threshold)
                    );
                    CREATE INDEX requests_organization_started_at ON requests (organization, started_at);
                    CREATE INDEX requests_environment_started_at ON requests (environment, started_at);
                    ALTER TABLE requests ADD COLUMN output_cap INTEGER;
                    """)
        }
        migrator.registerMigration("004_control_rules") { db in
            try db.execute(
                sql: """
                    CREATE TABLE control_rules (
                        id TEXT PRIMARY KEY,
                        kind TEXT NOT NULL,
                        name TEXT NOT NULL,
                        scope_kind TEXT NOT NULL,
                        scope_value TEXT NOT NULL,
                        definition TEXT NOT NULL,
                        created_at INTEGER NOT NULL,
                        updated_at INTEGER NOT NULL,
                        UNIQUE (kind, name)
                    );
                    """)
        }
        migrator.registerMigration("005_budget_downgrade") { db in
            try db.execute(
                sql: """
                    ALTER TABLE budgets ADD COLUMN downgrade_model TEXT;
                    ALTER TABLE budgets ADD COLUMN downgrade_at INTEGER NOT NULL DEFAULT 80;
                    ALTER TABLE requests ADD COLUMN downgraded_by TEXT;
                    """)
        }
        migrator.registerMigration("006_grants") { db in
            try db.execute(
                sql: """
                    ALTER TABLE requests ADD COLUMN grant_id TEXT;
                    CREATE INDEX requests_grant_started_at ON requests (grant_id, started_at) WHERE grant_id IS NOT NULL;
                    """)
        }
        migrator.registerMigration("007_routes") { db in
            try db.execute(
                sql: """
                    ALTER TABLE requests ADD COLUMN route TEXT;
                    ALTER TABLE requests ADD COLUMN failed_attempts TEXT;
                    """)
        }
        migrator.registerMigration("008_routing_rules") { db in
            try db.execute(sql: "ALTER TABLE requests ADD COLUMN routing_rule TEXT")
        }
        migrator.registerMigration("009_route_events") { db in
            try db.execute(
                sql: """
                    CREATE TABLE route_events (
                        at INTEGER NOT NULL, route TEXT NOT NULL, deployment TEXT NOT NULL, kind TEXT NOT NULL, detail TEXT NOT NULL
                    );
                    CREATE INDEX route_events_at ON route_events (at);
                    """)
        }
        migrator.registerMigration("010_feedback") { db in
            try db.execute(
                sql: """
                    CREATE TABLE feedback (
                        id TEXT PRIMARY KEY, at INTEGER NOT NULL, request_id TEXT, run TEXT, score REAL NOT NULL, source TEXT, comment TEXT
                    );
                    CREATE INDEX feedback_request ON feedback (request_id) WHERE request_id IS NOT NULL;
                    CREATE INDEX feedback_run ON feedback (run) WHERE run IS NOT NULL;
                    """)
        }
        migrator.registerMigration("011_auto_routing") { db in
            try db.execute(
                sql: """
                    ALTER TABLE requests ADD COLUMN task_class TEXT;
                    ALTER TABLE requests ADD COLUMN auto_tier TEXT;
                    ALTER TABLE requests ADD COLUMN routing_reason TEXT;
                    ALTER TABLE requests ADD COLUMN baseline_model TEXT;
                    """)
        }
        migrator.registerMigration("012_imports") { db in
            try db.execute(
                sql: """
                    ALTER TABLE requests ADD COLUMN source TEXT;
                    CREATE TABLE run_context (
                        run TEXT PRIMARY KEY, source TEXT NOT NULL, cwd TEXT, git_branch TEXT, first_at INTEGER NOT NULL, last_at INTEGER NOT NULL
                    );
                    """)
        }
        migrator.registerMigration("013_run_flags") { db in
            try db.execute(
                sql: """
                    CREATE TABLE run_flags (
                        at INTEGER NOT NULL, run TEXT NOT NULL, team TEXT, reason TEXT NOT NULL, calls INTEGER NOT NULL, cost_nano INTEGER NOT NULL,
                        stopped INTEGER NOT NULL
                    );
                    CREATE INDEX run_flags_at ON run_flags (at);
                    """)
        }
        migrator.registerMigration("014_turns") { db in
            try db.execute(
                sql: """
                    ALTER TABLE requests ADD COLUMN turn TEXT;
                    CREATE INDEX requests_root_run ON requests (COALESCE(parent_run, run), started_at) WHERE run IS NOT NULL;
                    """)
        }
        migrator.registerMigration("015_outcomes") { db in
            try db.execute(
                sql: """
                    CREATE TABLE outcomes (
                        id TEXT PRIMARY KEY, at INTEGER NOT NULL, run TEXT NOT NULL, kind TEXT NOT NULL, ref TEXT, quantity INTEGER,
                        value_nano INTEGER, inferred INTEGER NOT NULL DEFAULT 0, source TEXT
                    );
                    CREATE UNIQUE INDEX outcomes_identity ON outcomes (run, kind, ref) WHERE ref IS NOT NULL;
                    CREATE INDEX outcomes_run ON outcomes (run);
                    CREATE INDEX outcomes_at ON outcomes (at);
                    """)
        }
        migrator.registerMigration("016_rollups") { db in
            // Rollups replace the per-dimension indexes: budgets and reports now read whole
            // hours from usage_hourly and scan only the edge hours of a window by time, so
            // six indexes the gateway paid for on every insert are no longer read.
            try db.execute(sql: Rollups.schema)
            try Rollups.rebuild(db)
            try db.execute(
                sql: """
                    DROP INDEX IF EXISTS requests_team_started_at; DROP INDEX IF EXISTS requests_member_started_at;
                    DROP INDEX IF EXISTS requests_key_started_at; DROP INDEX IF EXISTS requests_workflow_started_at;
                    DROP INDEX IF EXISTS requests_organization_started_at; DROP INDEX IF EXISTS requests_environment_started_at;
                    """)
        }
        migrator.registerMigration("017_import_files") { db in
            // The session-log files an import read, as they were: the next import skips those
            // unchanged since (a daily import of a long history reads only what is new).
            try db.execute(
                sql: """
                    CREATE TABLE import_files (
                        source TEXT NOT NULL, path TEXT NOT NULL, size INTEGER NOT NULL, modified_ns INTEGER NOT NULL, imported_at INTEGER NOT NULL,
                        PRIMARY KEY (source, path)
                    ) WITHOUT ROWID;
                    """)
        }
        migrator.registerMigration("018_requests_id_index") { db in
            // A request's id was the table's primary key, an index SQLite cannot drop. It is
            // now a unique index like the others, so a first import into an empty ledger can
            // write its rows bare and build every index once at the end (see
            // `BulkImportWriter`). Inserts keep `ON CONFLICT (id)`: a unique index on
            // the column is a conflict target as the key was. The rows are copied in order.
            try idAsUniqueIndex(db)
        }
        return migrator
    }

    /// Rebuilds `requests` with `id TEXT NOT NULL` and a unique index on it in place of the
    /// primary key; columns, rows (in order) and the other indexes as they were.
    static func idAsUniqueIndex(_ db: Database) throws {
        guard let table = try String.fetchOne(db, sql: "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'requests'"),
            let column = table.range(of: "id TEXT PRIMARY KEY")
        else {
            throw DatabaseError(message: "requests has no `id TEXT PRIMARY KEY` column to rebuild")
        }
        let indexes = try String.fetchAll(db, sql: "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'requests' AND sql IS NOT NULL")
        let rebuilt = table.replacingCharacters(in: column, with: "id TEXT NOT NULL")
            .replacingOccurrences(of: "CREATE TABLE requests", with: "CREATE TABLE requests_rebuilt")
        try db.execute(sql: rebuilt)
        try db.execute(sql: "INSERT INTO requests_rebuilt SELECT * FROM requests ORDER BY rowid")
        try db.execute(sql: "DROP TABLE requests")
        try db.execute(sql: "ALTER TABLE requests_rebuilt RENAME TO requests")
        try db.execute(sql: "CREATE UNIQUE INDEX requests_id ON requests (id)")
        for index in indexes { try db.execute(sql: index) }
    }
}
