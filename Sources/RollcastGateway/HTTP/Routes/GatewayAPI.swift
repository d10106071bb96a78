import RollcastCore

/// What answers the gateway's HTTP routes, made once from the gateway's collaborators.
struct GatewayAPI: Sendable {
    let ingest: IngestRoute
    let mockData: MockDataRoute
    let realtimeWindow: RealtimeWindowRoute
    let status: StatusRoute
    let readiness: ReadinessRoute
    let metrics: MetricsRoute
    let access: AccessRoute

    init(configuration: GatewayConfiguration, broadcaster: SnapshotBroadcaster, control: any ProducerControl, metrics: GatewayMetrics, tokensOn: Bool) {
        let producers = ProducerLink(
            control: control, broadcaster: broadcaster, timeout: configuration.controlTimeout, keyPair: configuration.curveKeyPair
        )
        ingest = IngestRoute(producers: producers, maxBodyBytes: configuration.maxIngestBytes, tokensOn: tokensOn)
        mockData = MockDataRoute(producers: producers, maxBodyBytes: configuration.maxBodyBytes)
        realtimeWindow = RealtimeWindowRoute(broadcaster: broadcaster, tokensOn: tokensOn)
        status = StatusRoute(
            broadcaster: broadcaster, metrics: metrics, producers: producers,
            snapshotEndpoints: configuration.snapshotEndpoints, controlEndpoint: configuration.controlEndpoint
        )
        readiness = ReadinessRoute(broadcaster: broadcaster, metrics: metrics, maxClients: configuration.maxClients)
        self.metrics = MetricsRoute(broadcaster: broadcaster, metrics: metrics, producers: producers)
        access = AccessRoute(tokensOn: tokensOn)
    }
}
