/// Maps method + path to a handler. Why a plain switch: the route set is fixed and small, and a
/// reader should see every endpoint of the demo app in one place.
typealias Handler = (Request, ResponseWriter) -> Void

enum Router {
    static func handle(_ req: Request, _ res: ResponseWriter) {
        let path = req.path
        // Test controls are neither counted nor subject to injected faults.
        if !path.hasPrefix("/_demo/") {
            demoState.countRequest(path: path)
            if let fault = demoState.takeFault(path: path, method: req.method) {
                let headers = fault.retryAfter.map { [("Retry-After", String($0))] } ?? []
                res.json(fault.status, [
                    "error": ["type": "injected_fault", "message": "Fault injected by /_demo/faults", "status": .int(fault.status)],
                ], headers: headers)
                return
            }
        }
        guard let handlers = handlers(for: path) else {
            res.json(404, ["error": ["type": "not_found", "message": .string("No route for \(path)")]])
            return
        }
        if let handler = handlers[req.method] ?? handlers["*"] ?? (req.method == "HEAD" ? handlers["GET"] : nil) {
            handler(req, res)
        } else {
            var allowed = handlers.keys.sorted()
            if allowed.contains("GET") { allowed.append("HEAD") }
            res.json(405, ["error": ["type": "method_not_allowed", "message": .string("Use \(allowed.joined(separator: ", "))")]],
                     headers: [("Allow", allowed.joined(separator: ", "))])
        }
    }

    /// Handlers by method for a path ("*" = any method; GET also answers HEAD).
    private static func handlers(for path: String) -> [String: Handler]? {
        switch path {
        case "/": return ["GET": AppRoutes.page]
        case "/healthz": return ["GET": { _, res in res.json(200, ["ok": true]) }]
        case "/api/auth/login": return ["POST": { _, res in res.json(200, ["token": "demo"]) }]
        case "/api/ai/generate/chapter": return ["POST": AIRoutes.generateChapter]
        case "/api/ai/chat": return ["POST": AIRoutes.chat]
        case "/v1/messages": return ["POST": AIRoutes.anthropicMessages]
        case "/v1/chat/completions": return ["POST": AIRoutes.openAIChatCompletions]
        case "/slow": return ["GET": AppRoutes.slow]
        case "/slow/stream": return ["GET": DemoStreams.slowStream]
        case "/boom": return ["GET": AppRoutes.boom]
        case "/big": return ["GET": AppRoutes.big]
        case "/sse": return ["GET": DemoStreams.ticks]
        case "/sse/stepped": return ["GET": DemoStreams.stepped]
        case "/_demo/faults":
            return ["GET": DemoControl.listFaults, "POST": DemoControl.addFault, "DELETE": DemoControl.clearFaults]
        case "/_demo/stats": return ["GET": DemoControl.stats]
        case "/_demo/reset": return ["POST": DemoControl.reset]
        case "/_demo/step": return ["POST": DemoControl.step]
        case "/echo": return ["*": AppRoutes.echo]
        default:
            if path.hasPrefix("/echo/") { return ["*": AppRoutes.echo] }
            let segments = path.split(separator: "/", omittingEmptySubsequences: false)
            // "/api/chapters/{id}/content" → ["", "api", "chapters", id, "content"]
            if segments.count == 5, segments[1] == "api", segments[2] == "chapters", !segments[3].isEmpty,
                segments[4] == "content"
            {
                let id = percentDecode(segments[3])
                return [
                    "GET": { req, res in AppRoutes.getChapter(id, req, res) },
                    "PUT": { req, res in AppRoutes.putChapter(id, req, res) },
                ]
            }
            return nil
        }
    }
}
