import RampartHTTP
import RampartLoop
import RampartTransport
/// Request validation stage (SPEC §6.4): the app only sees bodies of the shape it declared.
/// Failures answer 400 with one `details` entry per failing field.
struct ValidationStage: BodyTransform {
    package let validator: RequestValidator

    package init(_ config: ValidateConfig) { validator = RequestValidator(config) }

    package func transform(_ body: [UInt8], _ ctx: RequestContext) -> Result<[UInt8], GatewayError> {
        switch validator.validate(body) {
        case .success(let forwarded):
            return .success(forwarded)
        case .failure(let failure):
            var error = GatewayError(status: 400, code: failure.notJSON ? "BAD_REQUEST" : "VALIDATION_ERROR",
                                     message: failure.notJSON ? "The request body must be valid JSON." : "The request body is invalid: \(failure.summary).")
            error.details = failure.details.map { (field: $0.field, message: $0.message) }
            return .failure(error)
        }
    }
}
