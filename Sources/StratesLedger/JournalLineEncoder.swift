import Foundation
import StratesCore

/// Writes journal lines directly as bytes. The journal is written twice per request on the
/// hot path, where `JSONEncoder` cost about an eighth of the gateway's CPU; recovery (rare)
/// still reads the lines with `JSONDecoder`, and a property test keeps the two in step.
/// The shape is exactly what `JournalEntry`'s synthesized `Codable` reads: camelCase keys,
/// dates as milliseconds since 1970, absent optionals left out.
enum JournalLineEncoder {
    static func line(_ kind: JournalEntry.Kind, _ r: RequestRecord) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(640)
        var writer = ObjectWriter(out: out)
        writer.string("kind", kind.rawValue)
        writer.key("record")
        var record = ObjectWriter(out: writer.out)
        record.string("id", r.id)
        record.date("startedAt", r.startedAt)
        record.date("endedAt", r.endedAt)
        record.string("api", r.api)
        record.bool("stream", r.stream)
        record.string("status", r.status.rawValue)
        record.int("httpStatus", r.httpStatus.map(Int64.init))
        record.key("attribution")
        let a = r.attribution
        var attribution = ObjectWriter(out: record.out)
        attribution.string("organization", a.organization)
        attribution.string("team", a.team)
        attribution.string("member", a.member)
        attribution.string("keyID", a.keyID)
        attribution.string("service", a.service)
        attribution.string("environment", a.environment.rawValue)
        attribution.string("workflow", a.workflow)
        attribution.string("run", a.run)
        attribution.string("parentRun", a.parentRun)
        attribution.string("process", a.process)
        attribution.string("endUser", a.endUser)
        attribution.string("traceID", a.traceID)
        record.out = attribution.close()
        record.string("requestedModel", r.requestedModel)
        record.string("servedModel", r.servedModel)
        record.string("provider", r.provider)
        record.string("upstreamRequestID", r.upstreamRequestID)
        record.int("latencyMs", r.latencyMs)
        record.int("timeToFirstTokenMs", r.timeToFirstTokenMs)
        record.key("usage")
        var usage = ObjectWriter(out: record.out)
        usage.int("input", r.usage.input)
        usage.int("output", r.usage.output)
        usage.int("cacheRead", r.usage.cacheRead)
        usage.int("cacheWrite5m", r.usage.cacheWrite5m)
        usage.int("cacheWrite1h", r.usage.cacheWrite1h)
        usage.int("reasoning", r.usage.reasoning)
        record.out = usage.close()
        record.bool("usageEstimated", r.usageEstimated)
        record.int("cost", r.cost?.value)
        record.string("error", r.error)
        record.int("inputEstimate", r.inputEstimate)
        record.string("serviceTier", r.serviceTier?.rawValue)
        record.int("outputCap", r.outputCap)
        record.string("downgradedBy", r.downgradedBy)
        record.string("grantID", r.grantID)
        record.string("route", r.route)
        record.string("failedAttempts", r.failedAttempts)
        record.string("routingRule", r.routingRule)
        record.string("taskClass", r.taskClass)
        record.string("autoTier", r.autoTier)
        record.string("routingReason", r.routingReason)
        record.string("baselineModel", r.baselineModel)
        record.string("source", r.source)
        record.string("turn", r.turn)
        writer.out = record.close()
        out = writer.close()
        out.append(UInt8(ascii: "\n"))
        return out
    }

    /// Appends `"key":value` members to an object, opening it on the first.
    struct ObjectWriter {
        var out: [UInt8]
        var first = true

        init(out: [UInt8]) {
            self.out = out
            self.out.append(UInt8(ascii: "{"))
        }

        mutating func key(_ name: String) {
            if !first { out.append(UInt8(ascii: ",")) }
            first = false
            JSONText.appendQuoted(name, to: &out)
            out.append(UInt8(ascii: ":"))
        }

        mutating func string(_ name: String, _ value: String?) {
            guard let value else { return }
            key(name)
            JSONText.appendQuoted(value, to: &out)
        }

        mutating func int(_ name: String, _ value: Int64?) {
            guard let value else { return }
            key(name)
            out.append(contentsOf: String(value).utf8)
        }

        mutating func bool(_ name: String, _ value: Bool) {
            key(name)
            out.append(contentsOf: value ? Array("true".utf8) : Array("false".utf8))
        }

        mutating func date(_ name: String, _ value: Date?) {
            guard let value else { return }
            int(name, Int64((value.timeIntervalSince1970 * 1000).rounded()))
        }

        mutating func close() -> [UInt8] {
            out.append(UInt8(ascii: "}"))
            return out
        }
    }
}
