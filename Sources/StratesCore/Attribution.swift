/// Where a request's tokens are charged: who made it and as part of what.
public struct Attribution: Hashable, Sendable, Codable {
    public var organization: String?
    public var team: String?
    public var member: String?
    public var keyID: String?
    public var service: String?
    public var environment: Environment
    public var workflow: String?
    public var run: String?
    public var parentRun: String?
    public var process: String?
    public var endUser: String?
    public var traceID: String?

    public init(
        organization: String? = nil, team: String? = nil, member: String? = nil, keyID: String? = nil,
        service: String? = nil, environment: Environment = .production, workflow: String? = nil,
        run: String? = nil, parentRun: String? = nil, process: String? = nil, endUser: String? = nil,
        traceID: String? = nil
    ) {
        self.organization = organization
        self.team = team
        self.member = member
        self.keyID = keyID
        self.service = service
        self.environment = environment
        self.workflow = workflow
        self.run = run
        self.parentRun = parentRun
        self.process = process
        self.endUser = endUser
        self.traceID = traceID
    }
}

/// The three environments a request can be charged to.
public enum Environment: String, Sendable, Codable, CaseIterable {
    case production, sandbox, personal
}
