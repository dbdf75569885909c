import ArgumentParser
import Foundation
import Logging
import StratesLedger
import StratesLedgerSQLite
import StratesServer

/// The options every command that reads or writes data shares.
struct DataOptions: ParsableArguments {
    @Option(name: .long, help: "Configuration file (YAML). Default: $STRATES_CONFIG, else ./strates.yaml if present, else built-in defaults.")
    var config: String?

    @Option(name: .long, help: "Ledger database path. Default: the config's database.path, $STRATES_DATABASE, or ./strates.db.")
    var database: String?

    /// The configuration in force: file (or defaults), then `STRATES_*` variables, then flags.
    func load() throws -> StratesConfiguration {
        let environment = ProcessInfo.processInfo.environment
        var configuration: StratesConfiguration
        let path =
            config ?? environment["STRATES_CONFIG"].flatMap { $0.isEmpty ? nil : $0 }
            ?? (FileManager.default.fileExists(atPath: "strates.yaml") ? "strates.yaml" : nil)
        if let path {
            configuration = try ConfigurationReader.read(file: path)
        } else {
            configuration = StratesConfiguration.defaults(environment: environment)
        }
        try configuration.applyEnvironment(environment)
        if let database { configuration.databasePath = database }
        return configuration
    }

    /// The configuration and its ledger. Only a command that puts something in the ledger
    /// (`creating`) makes a missing one, and says so; any other refuses, so that a mistyped
    /// `--database` is an error rather than an empty report or a change to nothing.
    func openLedger(creating: Bool = false) throws -> (StratesConfiguration, SQLiteLedger) {
        let configuration = try load()
        let path = configuration.databasePath
        if !FileManager.default.fileExists(atPath: path) {
            guard creating else {
                throw CommandFailure(
                    description:
                        "There is no ledger at \(path). Give the right --database (or ledger.path in the config); 'strates ledger init' makes a new one.")
            }
            FileHandle.standardError.write(Data("Created a new ledger at \(path).\n".utf8))
        }
        return (configuration, try SQLiteLedger(path: path))
    }
}

enum CommandLogger {
    static func make(level: String) -> Logger {
        StratesLogHandler.logger(label: "strates", level: Logger.Level(rawValue: level) ?? .info)
    }
}

/// A failure to show the user as it is, without a stack of wrapping.
struct CommandFailure: Error, CustomStringConvertible {
    var description: String
}
