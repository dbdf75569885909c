import StratesWire

/// Every refusal the gateway makes, rendered in the caller's own API format.
public struct GatewayError: Error, Sendable, CustomStringConvertible {
    /// The HTTP status it is answered with.
    public var statusCode: Int
    /// Overrides the per-format default `type` when set.
    public var type: String?
    public var message: String
    public var code: String?
    public var param: String?
    public var headers: [(name: String, value: String)] = []

    public init(status: Int, type: String? = nil, message: String, code: String? = nil, param: String? = nil) {
        self.statusCode = status
        self.type = type
        self.message = message
        self.code = code
        self.param = param
    }

    public var description: String { "\(statusCode): \(message)" }

    /// The headers of the error's answer: its JSON body's type, then its own (such as
    /// `retry-after`).
    public var responseHeaders: [(name: String, value: String)] { [("content-type", "application/json")] + headers }

    public func body(format: APIFormat) -> [UInt8] {
        ErrorBody.render(format: format, status: statusCode, type: type, message: message, code: code, param: param)
    }

    public static let missingKey = GatewayError(
        status: 401,
        message:
            "No API key was sent. Send a Strates key as 'Authorization: Bearer sk-strates-…' or 'x-api-key: sk-strates-…' (create one with 'strates keys create').",
        code: "missing_api_key"
    )
    public static let invalidKey = GatewayError(
        status: 401, message: "The API key is not valid: it is unknown, revoked or expired. Check the key, or create a new one with 'strates keys create'.",
        code: "invalid_api_key"
    )
    public static let notAdmin = GatewayError(
        status: 403, message: "This endpoint needs an admin key. Create one with 'strates keys create --admin'.", code: "admin_key_required"
    )

    public static func bodyTooLarge(limit: Int) -> GatewayError {
        GatewayError(
            status: 413, message: "The request body is larger than the gateway's limit of \(limit) bytes (server.max_body_bytes).", code: "request_too_large")
    }

    public static func badRequest(_ message: String, param: String? = nil) -> GatewayError {
        GatewayError(status: 400, message: message, code: "invalid_request", param: param)
    }

    public static func unknownModel(_ model: String, available: [String]) -> GatewayError {
        let list = available.prefix(12).joined(separator: ", ")
        return GatewayError(
            status: 404,
            message:
                "The model '\(model)' is not configured on this gateway. Available: \(list.isEmpty ? "none" : list). Add it under 'models:' in the config.",
            code: "model_not_found", param: "model"
        )
    }

    public static func upstreamUnavailable(_ provider: String, _ detail: String) -> GatewayError {
        GatewayError(
            status: 502,
            message: "The provider '\(provider)' could not be reached: \(detail). Try again; if it persists, check the provider's status and base URL.",
            code: "upstream_unavailable")
    }

    public static func upstreamTimeout(_ provider: String) -> GatewayError {
        GatewayError(
            status: 504, message: "The provider '\(provider)' did not answer in time. Try again, or raise the provider's timeout.", code: "upstream_timeout")
    }

    public static let internalError = GatewayError(
        status: 500, message: "Strates hit an internal error. The request was recorded; try again.", code: "internal_error")
}
