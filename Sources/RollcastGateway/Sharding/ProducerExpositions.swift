/// Several producers' Prometheus texts as one: each sample labelled with its producer
/// (`producer="east"`), each metric family's `# HELP` and `# TYPE` written once, its samples
/// from every producer after them. A gateway merging several producers serves them all at
/// `/metrics`, since producers serve no HTTP of their own.
enum ProducerExpositions {
    /// `texts` by producer name, in the order given; a producer whose text is `nil` did not answer.
    static func merged(_ texts: [(producer: String, text: String?)]) -> String {
        var order: [String] = []
        var families: [String: (head: [Substring], samples: [String])] = [:]
        for (producer, text) in texts {
            guard let text else { continue }
            let label = #"producer="\#(escaped(producer))""#
            var family = ""
            for line in text.split(separator: "\n") {
                if line.hasPrefix("# ") {
                    // "# HELP name …" or "# TYPE name …": a family starts or goes on.
                    let fields = line.split(separator: " ", maxSplits: 3)
                    guard fields.count >= 3 else { continue }
                    family = String(fields[2])
                    if families[family] == nil {
                        order.append(family)
                        families[family] = ([], [])
                    }
                    if families[family]!.head.count < 2, !families[family]!.head.contains(line) { families[family]!.head.append(line) }
                    continue
                }
                families[family, default: ([], [])].samples.append(labelled(line, with: label))
                if !order.contains(family) { order.append(family) }
            }
        }
        var out = "# HELP rollcast_producer_up Whether the producer answered this scrape's request for its metrics (1) or not (0).\n"
        out += "# TYPE rollcast_producer_up gauge\n"
        for (producer, text) in texts { out += #"rollcast_producer_up{producer="\#(escaped(producer))"} \#(text == nil ? 0 : 1)"# + "\n" }
        for family in order {
            guard let entry = families[family] else { continue }
            for line in entry.head { out += line + "\n" }
            for sample in entry.samples { out += sample + "\n" }
        }
        return out
    }

    /// `name{a="b"} 1` → `name{producer="x",a="b"} 1`; `name 1` → `name{producer="x"} 1`.
    static func labelled(_ line: Substring, with label: String) -> String {
        guard let end = line.firstIndex(where: { $0 == "{" || $0 == " " }) else { return String(line) }
        let name = line[..<end]
        if line[end] == "{" {
            let rest = line[line.index(after: end)...]
            return "\(name){\(label)\(rest.hasPrefix("}") ? "" : ",")\(rest)"
        }
        return "\(name){\(label)}\(line[end...])"
    }

    /// A label value as the text format writes it.
    static func escaped(_ value: String) -> String {
        value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"").replacingOccurrences(of: "\n", with: "\\n")
    }
}
