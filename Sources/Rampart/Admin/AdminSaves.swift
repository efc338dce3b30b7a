import Foundation
import RampartLoop
import RampartTransport
import RampartProxy
import RampartHTTP

/// The save journal for ops: `GET /admin/saves`, `POST /admin/saves/{id}/replay`,
/// `DELETE /admin/saves/{id}` (SPEC §9), and `GET /admin/saves/{id}` with the content itself, so ops
/// can read what they are about to replay or delete.
enum AdminSaves {
    static func handle(_ head: HTTPRequestHead, context: ServerContext, respond: @escaping (AdminService.Answer) -> Void) -> Bool {
        // Every journal call runs on the journal's thread and answers here, on the admin loop.
        let journal = context.state.journal
        let loop = context.loop
        let notFound = { (id: String) in
            respond((404, GatewayError(status: 404, code: "NOT_FOUND", message: "There is no journaled save \(id).").bodyText, "application/json"))
        }
        if head.path == "/admin/saves" {
            guard head.method == "GET" else { return false }
            journal.entries(on: loop) { entries in
                let items = entries.map { e -> String in
                    var fields: [(String, String)] = []
                    for key in ["id", "identity", "user", "route", "reason", "details", "time", "owner", "method", "upstream", "url"] {
                        fields.append((key, e.json[key]?.jsonText() ?? "null"))
                    }
                    if case .string(let content)? = e.json["content"] { fields.append(("content_bytes", String(content.utf8.count))) }
                    return JSONText.object(fields)
                }
                respond((200, JSONText.object([("depth", String(items.count)), ("saves", JSONText.array(items))]), "application/json"))
            }
            return true
        }
        let parts = head.path.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count >= 4, parts[1] == "admin", parts[2] == "saves" else { return false }
        let id = String(parts[3])
        let notAllowed = { (allowed: String) in
            respond((405, GatewayError(status: 405, code: "METHOD_NOT_ALLOWED", message: "\(head.method) is not allowed on \(head.path); use \(allowed).").bodyText, "application/json"))
        }
        if parts.count == 4 && head.method == "GET" {
            journal.entry(id, on: loop) { entry in
                if let entry { respond((200, entry.jsonText(), "application/json")) } else { notFound(id) }
            }
            return true
        }
        if parts.count == 4 && head.method != "DELETE" { notAllowed("GET or DELETE"); return true }
        if parts.count == 5 && parts[4] == "replay" && head.method != "POST" { notAllowed("POST"); return true }
        if parts.count == 4 && head.method == "DELETE" {
            journal.remove(id, on: loop) { removed in
                if removed { respond((200, JSONText.object([("deleted", JSONText.quote(id))]), "application/json")) } else { notFound(id) }
            }
            return true
        }
        if parts.count == 5 && parts[4] == "replay" && head.method == "POST" {
            journal.entry(id, on: loop) { entry in
                guard let entry else { notFound(id); return }
                SaveReplay.run(id: id, entry: entry, context: context) { ok, status in
                    respond((ok ? 200 : 502, JSONText.object([("id", JSONText.quote(id)), ("replayed", ok ? "true" : "false"),
                                                              ("upstream_status", String(status))]), "application/json"))
                }
            }
            return true
        }
        return false
    }
}
