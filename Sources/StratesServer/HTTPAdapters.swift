import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import StratesCore
import StratesGateway
import StratesWire

/// Conversions between Hummingbird's HTTP types and the gateway's plain ones.
enum HTTPAdapters {
    static func headers(_ fields: HTTPFields) -> [(name: String, value: String)] {
        fields.map { ($0.name.canonicalName, $0.value) }
    }

    static func fields(_ headers: [(name: String, value: String)]) -> HTTPFields {
        var fields = HTTPFields()
        for (name, value) in headers {
            if let fieldName = HTTPField.Name(name) { fields.append(HTTPField(name: fieldName, value: value)) }
        }
        return fields
    }

    static func response(_ gatewayResponse: GatewayResponse) -> Response {
        let status = HTTPResponse.Status(code: gatewayResponse.status)
        let fields = self.fields(gatewayResponse.headers)
        switch gatewayResponse.body {
        case .bytes(let bytes):
            return Response(status: status, headers: fields, body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
        case .buffer(let buffer):
            return Response(status: status, headers: fields, body: ResponseBody(byteBuffer: buffer))
        case .stream(let relay):
            return Response(
                status: status, headers: fields,
                body: ResponseBody { writer in
                    try await relay.relay { chunk in try await writer.write(chunk) }
                    try await writer.finish(nil)
                })
        }
    }

    /// A report in the format asked for (`json` or `csv`), rendered only in that one.
    static func report(_ report: some ReportBody, format: String) -> Response {
        guard format == "csv" else { return json(.ok, report) }
        return Response(
            status: .ok, headers: fields([("content-type", "text/csv; charset=utf-8")]), body: ResponseBody(byteBuffer: ByteBuffer(string: APICSV.text(report)))
        )
    }

    static func json(_ status: HTTPResponse.Status = .ok, _ bytes: [UInt8], headers: [(name: String, value: String)] = []) -> Response {
        Response(status: status, headers: fields([("content-type", "application/json")] + headers), body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    /// A value of the domain, as the admin API shows it.
    static func json(_ status: HTTPResponse.Status = .ok, _ value: some APIRepresentable) -> Response {
        json(status, APIJSON.bytes(value))
    }

    /// `{"object":"list",…,"data":[…]}`, with what else the list says (`extra`).
    static func list<Item: APIRepresentable>(_ items: [Item], extra: [(name: String, value: String)] = []) -> Response {
        json(.ok, APIList(items, extra: extra))
    }

    /// What a DELETE answers: the id of what is gone.
    static func deleted(_ id: String) -> Response {
        json(.ok, Deleted(id: id))
    }

    /// A path parameter as the client meant it: `/api/members/alice%40example.com` names
    /// `alice@example.com`. Hummingbird hands the segment over still percent-encoded.
    static func pathParameter<Context: RequestContext>(_ name: String, in context: Context) -> String {
        let raw = context.parameters.get(name) ?? ""
        return raw.removingPercentEncoding ?? raw
    }

    static func error(_ error: GatewayError, format: APIFormat) -> Response {
        json(HTTPResponse.Status(code: error.statusCode), error.body(format: format), headers: error.headers)
    }
}

/// `{"id": …, "deleted": true}`.
struct Deleted: APIRepresentable {
    var id: String

    func encodeFields(_ fields: inout APIFields) throws {
        try fields.put("id", id)
        try fields.put("deleted", true)
    }
}
