/// Error bodies in each API's own shape, so the official SDKs raise their proper classes.
public enum ErrorBody {
    /// OpenAI: `{"error":{"message","type","param","code"}}`.
    /// Anthropic: `{"type":"error","error":{"type","message"}}`.
    public static func render(format: APIFormat, status: Int, type: String?, message: String, code: String? = nil, param: String? = nil) -> [UInt8] {
        let errorType = type ?? defaultType(format: format, status: status)
        let text: String
        switch format {
        case .openAI:
            text =
                #"{"error":{"message":\#(JSONValue.quote(message)),"type":\#(JSONValue.quote(errorType)),"param":\#(param.map(JSONValue.quote) ?? "null"),"code":\#(code.map(JSONValue.quote) ?? "null")}}"#
        case .anthropic:
            text = #"{"type":"error","error":{"type":\#(JSONValue.quote(errorType)),"message":\#(JSONValue.quote(message))}}"#
        }
        return Array(text.utf8)
    }

    /// The `type` each API uses for a status code.
    public static func defaultType(format: APIFormat, status: Int) -> String {
        switch format {
        case .anthropic:
            switch status {
            case 400, 422: return "invalid_request_error"
            case 401: return "authentication_error"
            case 402: return "billing_error"
            case 403: return "permission_error"
            case 404: return "not_found_error"
            case 413: return "request_too_large"
            case 429: return "rate_limit_error"
            case 529, 503: return "overloaded_error"
            case 504: return "timeout_error"
            default: return "api_error"
            }
        case .openAI:
            switch status {
            case 400, 404, 413, 422: return "invalid_request_error"
            case 401: return "authentication_error"
            case 402: return "insufficient_quota"
            case 403: return "permission_error"
            case 429: return "rate_limit_exceeded"
            case 504: return "timeout"
            default: return "server_error"
            }
        }
    }

    /// An error event for a stream that has already begun, in the API's own event shape.
    public static func streamEvent(api: APIKind, message: String, type: String = "api_error") -> [UInt8] {
        switch api {
        case .messages, .countTokens:
            return SSEEncoder.encode(
                event: "error", data: String(decoding: render(format: .anthropic, status: 500, type: type, message: message), as: UTF8.self))
        case .responses:
            let data = #"{"type":"error","code":\#(JSONValue.quote(type)),"message":\#(JSONValue.quote(message)),"param":null,"sequence_number":0}"#
            return SSEEncoder.encode(event: "error", data: data)
        case .chatCompletions, .embeddings:
            return SSEEncoder.encode(data: String(decoding: render(format: .openAI, status: 500, type: type, message: message), as: UTF8.self))
        }
    }
}
