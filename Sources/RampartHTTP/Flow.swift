/// Backpressure, named once for every hop (client → exchange → upstream, and back): whoever is
/// handed bytes answers whether the sender may go on. After `.pause` the sender stops until the
/// receiver calls its resume hook: `resumeRequestBody()` toward the client's upload,
/// `resumeResponse()` toward the upstream's download. The exchange pauses the client's body
/// itself, before any byte, with `pauseRequestBody()` while its filters decide.
public enum Flow: Sendable, Equatable {
    case proceed
    case pause
}
