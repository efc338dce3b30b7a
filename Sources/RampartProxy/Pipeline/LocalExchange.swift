import RampartHTTP
import RampartLoop
import RampartTransport

/// A response Rampart produces itself and sends at once (errors, health checks). Any request body
/// is ignored: the connection closes after answering if the body was not read.
package final class LocalExchange: ServerExchange {
    /// The body's length, for the access log's `bytes_out`.
    package let bytesOut: Int

    package init(connection: any ClientStream, head: HTTPResponseHead, body: [UInt8]) {
        bytesOut = body.count
        connection.sendWhole(head, body)
    }
    package func requestBody(_ bytes: UnsafeRawBufferPointer) {}
    package func requestBodyEnded() {}
    package func resumeResponse() {}
    package func connectionClosed() {}

    /// A JSON answer with the security headers, request id and an exact Content-Length.
    package static func json(_ connection: any ClientStream, status: Int, body: String, requestID: String,
                     headers: HeadersConfig?, extra: [HTTPField] = []) -> LocalExchange {
        let bytes = Array(body.utf8)
        return LocalExchange(connection: connection,
                             head: LocalReply.head(status: status, contentType: "application/json", bodyLength: bytes.count, requestID: requestID,
                                                   extra: extra, headersConfig: headers, tls: connection.isTLS),
                             body: bytes)
    }

    package static func error(_ connection: any ClientStream, _ error: GatewayError, requestID: String, headers: HeadersConfig?) -> LocalExchange {
        let (head, body) = LocalReply.error(error, requestID: requestID, headersConfig: headers, tls: connection.isTLS)
        return LocalExchange(connection: connection, head: head, body: body)
    }
}
