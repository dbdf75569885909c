import Foundation

/// What a key may do: call models, or also administer Strates through `/api/`.
public enum KeyRole: String, Sendable, Codable, CaseIterable {
    case gateway
    case admin
}

/// A virtual API key as stored: only its hash, never the secret.
public struct APIKey: Sendable, Codable, Equatable {
    public var id: String
    /// Hex SHA-256 of the secret.
    public var hash: String
    /// The first characters of the secret, to recognise it in listings (`sk-strates-AbCd…`).
    public var prefix: String
    public var name: String?
    public var role: KeyRole
    public var organization: String
    public var team: String?
    public var member: String?
    public var service: String?
    public var environment: Environment
    public var workflow: String?
    public var createdAt: Date
    public var expiresAt: Date?
    public var revokedAt: Date?

    public init(
        id: String, hash: String, prefix: String, name: String?, role: KeyRole, organization: String,
        team: String?, member: String?, service: String?, environment: Environment, workflow: String?,
        createdAt: Date, expiresAt: Date?, revokedAt: Date? = nil
    ) {
        self.id = id
        self.hash = hash
        self.prefix = prefix
        self.name = name
        self.role = role
        self.organization = organization
        self.team = team
        self.member = member
        self.service = service
        self.environment = environment
        self.workflow = workflow
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.revokedAt = revokedAt
    }

    public func isActive(at date: Date) -> Bool {
        revokedAt == nil && (expiresAt.map { $0 > date } ?? true)
    }

    /// The attribution a request made with this key starts from.
    public var attribution: Attribution {
        Attribution(organization: organization, team: team, member: member, keyID: id, service: service, environment: environment, workflow: workflow)
    }
}
