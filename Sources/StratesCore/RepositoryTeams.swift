/// Which teams' runs a repository's webhook deliveries may attach outcomes to
/// (`outcomes.github_repositories`). A pull request's text is written by whoever opens it,
/// so its `Strates-Run:` lines are claims: they count only for runs of the teams the
/// repository is mapped to, and a repository mapped to no team attaches nothing.
///
/// Keys are a repository's full name (`acme/checkout-api`), an owner's repositories
/// (`acme/*`) or every repository (`*`); the most specific key wins. A team of `*` means any
/// team, for an organisation with one team or one trust domain.
public struct RepositoryTeams: Sendable, Equatable {
    public static let anyTeam = "*"

    public private(set) var entries: [String: Set<String>]

    public init(_ entries: [String: Set<String>] = [:]) {
        self.entries = entries
    }

    /// What is wrong with a key, if anything.
    public static func keyProblem(_ key: String) -> String? {
        if key == "*" { return nil }
        let parts = key.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty, !parts[0].contains("*"), parts[1] == "*" || !parts[1].contains("*") else {
            return "expected owner/name, owner/* or *"
        }
        return nil
    }

    /// The teams `repository` is mapped to, by its most specific key; nil when none maps it.
    public func teams(of repository: String?) -> Set<String>? {
        if let repository {
            let name = repository.lowercased()
            if let exact = entries.first(where: { $0.key.lowercased() == name })?.value { return exact }
            if let slash = name.firstIndex(of: "/"),
                let owner = entries.first(where: { $0.key.lowercased() == name[..<slash] + "/*" })?.value
            {
                return owner
            }
        }
        return entries["*"]
    }

    /// Whether a run whose requests carry `runTeams` may take an outcome from `repository`:
    /// every team the run has is mapped (a run of no team only under `*`).
    public func allows(runTeams: [String?], from repository: String?) -> Bool {
        guard let mapped = teams(of: repository), !runTeams.isEmpty else { return false }
        if mapped.contains(Self.anyTeam) { return true }
        return runTeams.allSatisfy { team in team.map(mapped.contains) ?? false }
    }
}
