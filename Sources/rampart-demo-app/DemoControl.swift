/// `/_demo/*`: the test harness's handles on the app — inject faults, read what arrived, reset,
/// and release stepped SSE events. Never counted in stats and never faulted.
enum DemoControl {
    /// `POST /_demo/faults` with `{"path_prefix": "/api/chapters/", "times": 2, "status": 503}`
    /// (optional `"method"`, `"retry_after"` seconds). An array of such objects adds several.
    static func addFault(_ req: Request, _ res: ResponseWriter) {
        guard let body = req.json else {
            return res.json(400, ["error": ["type": "bad_request", "message": "Body must be JSON"]])
        }
        let specs = body.arrayValue ?? [body]
        var faults: [DemoState.Fault] = []
        for spec in specs {
            guard case .object = spec else {
                return res.json(400, ["error": ["type": "bad_request", "message": "Each fault must be an object"]])
            }
            let status = spec["status"]?.intValue ?? 503
            let times = spec["times"]?.intValue ?? 1
            guard (100...599).contains(status), times >= -1 else {
                return res.json(400, ["error": ["type": "bad_request", "message": "status must be 100...599, times >= -1"]])
            }
            faults.append(DemoState.Fault(
                pathPrefix: spec["path_prefix"]?.stringValue ?? "/",
                method: spec["method"]?.stringValue?.uppercased(),
                remaining: times, status: status,
                retryAfter: spec["retry_after"]?.intValue))
        }
        for fault in faults where fault.remaining != 0 { demoState.addFault(fault) }
        res.json(200, ["ok": true, "faults": demoState.faultsJSON])
    }

    /// `DELETE /_demo/faults`
    static func clearFaults(_ req: Request, _ res: ResponseWriter) {
        demoState.clearFaults()
        res.json(200, ["ok": true, "faults": []])
    }

    /// `GET /_demo/faults`
    static func listFaults(_ req: Request, _ res: ResponseWriter) {
        res.json(200, ["faults": demoState.faultsJSON])
    }

    /// `GET /_demo/stats`
    static func stats(_ req: Request, _ res: ResponseWriter) {
        res.json(200, demoState.stats())
    }

    /// `POST /_demo/reset` — clears stats, faults, saves and pending steps.
    static func reset(_ req: Request, _ res: ResponseWriter) {
        demoState.reset()
        res.json(200, ["reset": true])
    }

    /// `POST /_demo/step?id=X` — releases the next event of `/sse/stepped?id=X`.
    static func step(_ req: Request, _ res: ResponseWriter) {
        let id = req.query["id"] ?? "default"
        let pending = demoState.step(id: id)
        res.json(200, ["stepped": true, "id": .string(id), "pending": .int(pending)])
    }
}
