import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import StratesCore
import StratesGateway
import StratesLedger
import StratesWire

/// Delivers budget alerts and operator notices (route moves): a log line, a POST to every
/// configured webhook, retried with backoff when the receiver fails, and — for route
/// events — a row in the ledger for the routing report. Never on the request path.
final class AlertDispatcher: BudgetAlertSink, NoticeSink {
    let webhooks: [AlertWebhook]
    let client: HTTPClient?
    let logger: Logger
    let events: (any RoutingStore)?

    init(webhooks: [AlertWebhook], client: HTTPClient?, logger: Logger, events: (any RoutingStore)? = nil) {
        self.webhooks = webhooks
        self.client = client
        self.logger = logger
        self.events = events
    }

    func deliver(_ notice: OperatorNotice) {
        switch notice {
        case .route(let event): deliver(event)
        case .runaway(let flag, let policy): deliver(flag, policy: policy)
        case .spike(let spike):
            logger.warning("spend spike: \(spike.text)", metadata: ["team": "\(spike.team)"])
            announce(
                what: "spend spike", record: { _ in }, slack: ":chart_with_upwards_trend: Strates: spend spike: " + spike.text,
                json: APIJSON.text(NoticeBody(type: "spend.spike", text: spike.text, key: "spike", detail: spike))
            )
        }
    }

    /// A runaway run: logged, kept in the ledger, posted to the webhooks.
    func deliver(_ flag: RunawayFlag, policy: RunawayPolicy) {
        let text = flag.text(policy)
        logger.warning("runaway \(text)", metadata: ["run": "\(flag.run)", "reason": "\(flag.reason.rawValue)"])
        announce(
            what: "runaway flag", record: { try await $0.record(flag) },
            slack: ":rotating_light: Strates: runaway " + text, json: APIJSON.text(NoticeBody(type: "run.runaway", text: text, key: "flag", detail: flag))
        )
    }

    func deliver(_ event: RouteEvent) {
        logger.warning("route: \(event.text)", metadata: ["route": "\(event.route)", "deployment": "\(event.deployment)", "event": "\(event.kind.rawValue)"])
        announce(
            what: "route event", record: { try await $0.record(event) },
            slack: ":arrows_counterclockwise: Strates: " + event.text,
            json: APIJSON.text(NoticeBody(type: "route.\(event.kind.rawValue)", text: event.text, key: "event", detail: event))
        )
    }

    /// Keeps a notice in the ledger and posts it to every webhook, off the request path.
    func announce(what: String, record: @escaping @Sendable (any RoutingStore) async throws -> Void, slack: String, json: String) {
        if let events {
            Task { [logger] in
                do { try await record(events) } catch { logger.error("\(what) not recorded", metadata: ["error": "\(error)"]) }
            }
        }
        guard let client, !webhooks.isEmpty else { return }
        for webhook in webhooks {
            let body = webhook.format == .slack ? Array(#"{"text":\#(JSONValue.quote(slack))}"#.utf8) : Array(json.utf8)
            Task { [logger] in await Self.post(body, to: webhook.url, client: client, logger: logger) }
        }
    }

    func deliver(_ alert: BudgetAlert) {
        logger.notice("budget alert: \(alert.text)", metadata: ["budget": "\(alert.budget.name)", "threshold": "\(alert.threshold)"])
        guard let client, !webhooks.isEmpty else { return }
        for webhook in webhooks {
            let body = webhook.format == .slack ? Self.slackPayload(alert) : Self.jsonPayload(alert)
            Task { [logger] in await Self.post(body, to: webhook.url, client: client, logger: logger) }
        }
    }

    static func post(_ body: [UInt8], to url: String, client: HTTPClient, logger: Logger) async {
        var delay: Duration = .milliseconds(500)
        for attempt in 1...5 {
            var request = HTTPClientRequest(url: url)
            request.method = .POST
            request.headers.add(name: "content-type", value: "application/json")
            request.headers.add(name: "user-agent", value: "strates-alerts")
            request.body = .bytes(ByteBuffer(bytes: body))
            do {
                let response = try await client.execute(request, timeout: .seconds(10))
                _ = try? await response.body.collect(upTo: 1 << 16)
                if (200..<300).contains(response.status.code) { return }
                logger.warning("budget alert webhook answered \(response.status.code)", metadata: ["attempt": "\(attempt)"])
            } catch {
                logger.warning("budget alert webhook unreachable", metadata: ["attempt": "\(attempt)", "error": "\(error)"])
            }
            try? await Task.sleep(for: delay)
            delay *= 4
        }
        logger.error("budget alert webhook failed after 5 attempts; the alert is in the log")
    }

    static func jsonPayload(_ alert: BudgetAlert) -> [UInt8] {
        let budget = alert.budget
        var fields: [String] = [
            #""type":"budget.threshold_reached""#,
            #""text":\#(JSONValue.quote(alert.text))"#,
            #""threshold_percent":\#(alert.threshold)"#,
            #""unit":\#(JSONValue.quote(budget.unit.rawValue))"#,
            #""spent":\#(alert.spent)"#,
            #""limit":\#(budget.limit)"#,
            #""window_start":\#(JSONValue.quote(BudgetText.timestamp(alert.window.start)))"#,
            #""resets_at":\#(alert.window.end.map { JSONValue.quote(BudgetText.timestamp($0)) } ?? "null")"#,
        ]
        fields.append(
            #""budget":{"id":\#(JSONValue.quote(budget.id)),"name":\#(JSONValue.quote(budget.name)),"scope":\#(JSONValue.quote(budget.scope.text)),"period":\#(JSONValue.quote(budget.period.text)),"enforcement":\#(JSONValue.quote(budget.enforcement.rawValue))}"#
        )
        return Array(("{" + fields.joined(separator: ",") + "}").utf8)
    }

    static func slackPayload(_ alert: BudgetAlert) -> [UInt8] {
        Array(#"{"text":\#(JSONValue.quote(":warning: Strates: " + alert.text))}"#.utf8)
    }
}
