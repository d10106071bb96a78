import Testing

@testable import RollcastGateway

@Suite("The connection budget under the open-file limit")
struct ConnectionBudgetTests {
    @Test("the settings decide while the limit holds them; past it the limit less the reserve; too low a limit is refused")
    func budgets() throws {
        let roomy = try ConnectionBudget(maxClients: 10_000, maxHTTPConnections: 1_000, fileLimit: 20_000)
        #expect(roomy.maxConnections == 11_000 && roomy.cutByFileLimit == nil)
        let unknown = try ConnectionBudget(maxClients: 10_000, maxHTTPConnections: 1_000, fileLimit: nil)
        #expect(unknown.maxConnections == 11_000)
        // 19,000 clients on a 20,000-descriptor machine: they fit, the HTTP share shrinks.
        let tight = try ConnectionBudget(maxClients: 19_000, maxHTTPConnections: 1_000, fileLimit: 20_000)
        #expect(tight.maxConnections == 19_744 && tight.cutByFileLimit == 20_000)
        // A shell's usual 1,024 with a hard limit no higher.
        let shell = try ConnectionBudget(maxClients: 10_000, maxHTTPConnections: 1_000, fileLimit: 1_024)
        #expect(shell.maxConnections == 768)
        let exact = try ConnectionBudget(maxClients: 100, maxHTTPConnections: 44, fileLimit: 400)
        #expect(exact.cutByFileLimit == nil)
        #expect(throws: ConnectionBudget.TooFewFiles.self) { try ConnectionBudget(maxClients: 10_000, maxHTTPConnections: 1_000, fileLimit: 319) }
        #expect(try ConnectionBudget(maxClients: 10_000, maxHTTPConnections: 1_000, fileLimit: 320).maxConnections == 64)
        // Small caps that fit a small limit are fine.
        #expect(try ConnectionBudget(maxClients: 10, maxHTTPConnections: 10, fileLimit: 300).cutByFileLimit == nil)
    }
}
