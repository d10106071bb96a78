import Hummingbird
import NIOCore

/// `GET /metrics`: the gateway's metrics, then the producer's, as Prometheus text.
struct MetricsRoute: Sendable {
    let broadcaster: SnapshotBroadcaster
    let metrics: GatewayMetrics
    let producers: ProducerLink

    /// The gateway's metrics, then the producer's (asked for with the status deadline), as
    /// Prometheus text; `rollcast_producer_up` says whether the producer's part is there.
    ///
    /// With several producers, every producer's metrics, each sample labelled `producer`.
    func answer() async -> Response {
        metrics.observeLatest(broadcaster.latest)
        var text = metrics.registry.exposition()
        let router = producers.router
        if router.isSharded {
            text.append(contentsOf: ProducerExpositions.merged(await producerMetrics(router)).utf8)
        } else {
            var producer: String?
            if let reply = try? await producers.ask(.metrics) { producer = reply.metrics }
            text.append(contentsOf: "# HELP rollcast_producer_up Whether the producer answered this scrape's request for its metrics (1) or not (0).\n".utf8)
            text.append(contentsOf: "# TYPE rollcast_producer_up gauge\nrollcast_producer_up \(producer == nil ? 0 : 1)\n".utf8)
            if let producer { text.append(contentsOf: producer.utf8) }
        }
        return Response(
            status: .ok,
            headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8", .cacheControl: "no-store"],
            body: .init(byteBuffer: ByteBuffer(bytes: text))
        )
    }

    /// Every producer's metrics text; `nil` for one that did not answer.
    func producerMetrics(_ router: ProducerRouter) async -> [(producer: String, text: String?)] {
        await producers.askEveryProducer(.metrics, router).map { ($0.producer, try? $0.reply.get().metrics) }
    }
}
