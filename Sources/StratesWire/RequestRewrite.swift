/// The only edits Strates makes to a request body, each a splice of the original bytes
/// so that everything else (including signed thinking blocks) stays byte-identical.
public enum RequestRewrite {
    /// Replaces the `model` value with `served`.
    public static func replacingModel(in body: [UInt8], summary: RequestSummary, with served: String) -> [UInt8] {
        guard let range = summary.modelRange, served != summary.model else { return body }
        return splice(body, range, Array(JSONValue.quote(served).utf8))
    }

    /// Makes an OpenAI chat stream report usage (`stream_options.include_usage: true`),
    /// keeping any other stream options the client set. Returns the body unchanged when
    /// the client already asked.
    public static func requestingStreamUsage(in body: [UInt8], summary: RequestSummary) -> [UInt8] {
        if summary.clientIncludesUsage { return body }
        let wanted = Array(#"{"include_usage":true}"#.utf8)
        guard let range = summary.streamOptionsRange else {
            // Insert as the first member: `{` + member + `,` + the rest.
            guard let open = body.firstIndex(of: UInt8(ascii: "{")) else { return body }
            var out = Array(body[...open])
            out += Array(#""stream_options":"#.utf8) + wanted
            let rest = body[(open + 1)...]
            if !isEmptyObjectTail(rest) { out.append(UInt8(ascii: ",")) }
            out += rest
            return out
        }
        let options = JSONView(bytes: body, range: range)
        guard options.isObject else { return splice(body, range, wanted) }
        // Rebuild the options object from its raw members, forcing include_usage.
        var parts: [String] = []
        for (key, value) in options.members().sorted(by: { $0.key < $1.key }) where key != "include_usage" {
            parts.append(JSONValue.quote(key) + ":" + value.rawText)
        }
        parts.append(#""include_usage":true"#)
        return splice(body, range, Array(("{" + parts.joined(separator: ",") + "}").utf8))
    }

    static func isEmptyObjectTail(_ rest: ArraySlice<UInt8>) -> Bool {
        for byte in rest {
            switch byte {
            case 0x20, 0x0A, 0x0D, 0x09: continue
            case UInt8(ascii: "}"): return true
            default: return false
            }
        }
        return true
    }

    static func splice(_ body: [UInt8], _ range: Range<Int>, _ replacement: [UInt8]) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(body.count - range.count + replacement.count)
        out += body[..<range.lowerBound]
        out += replacement
        out += body[range.upperBound...]
        return out
    }
}

extension RequestRewrite {
    static let maxTokenKeys = ["max_tokens", "max_completion_tokens", "max_output_tokens"]

    /// Lowers the request's maximum output tokens to `cap`: every max-tokens field the
    /// body has is set to it, and when none of them is one the API's upstreams obey, the
    /// API's own field is added too.
    public static func cappingMaxTokens(in body: [UInt8], api: APIKind, to cap: Int64) -> [UInt8] {
        guard let present = limitMembers(of: body, keys: maxTokenKeys) else { return body }
        let value = Array(String(cap).utf8)
        let given = present.filter { !JSONView(bytes: body, range: $0.value).isNull }
        let spliced = given.values.sorted { $0.lowerBound > $1.lowerBound }.reduce(body) { splice($0, $1, value) }
        guard api != .countTokens, let key = api.outputLimitFields.first, !given.keys.contains(where: api.outputLimitFields.contains) else {
            return spliced
        }
        // None of the fields given limits this API's upstreams (they are null, or another
        // API's): its own is set too, in place of a null one or added at the front.
        if let null = limitMembers(of: spliced, keys: [key])?[key] { return splice(spliced, null, value) }
        guard let open = spliced.firstIndex(of: UInt8(ascii: "{")) else { return spliced }
        var out = Array(spliced[...open])
        out += Array("\"\(key)\":".utf8) + value
        let rest = spliced[(open + 1)...]
        if !isEmptyObjectTail(rest) { out.append(UInt8(ascii: ",")) }
        out += rest
        return out
    }

    /// The ranges of the top-level members named `keys`; nil when the body is not a JSON object.
    static func limitMembers(of body: [UInt8], keys: [String]) -> [String: Range<Int>]? {
        try? body.withUnsafeBytes { raw in
            var scanner = JSONScanner(raw)
            return try scanner.objectMembers(keys: keys)
        }
    }
}
