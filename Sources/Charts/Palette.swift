/// Colours: distinct series colours (colour-blind-safe, from Okabe & Ito) and a sequential scale for heatmaps.
public enum Palette {
    public static let series = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000"]

    /// A colour for `fraction` in 0…1 on a light-yellow → dark-blue scale (viridis-like, low = light).
    public static func sequential(_ fraction: Double) -> String {
        let stops: [(Double, Double, Double)] = [(253, 231, 37), (94, 201, 98), (33, 145, 140), (59, 82, 139), (68, 1, 84)]
        let f = min(max(fraction.isFinite ? fraction : 0, 0), 1) * Double(stops.count - 1)
        let index = min(Int(f), stops.count - 2)
        let t = f - Double(index)
        let (a, b) = (stops[index], stops[index + 1])
        func channel(_ x: Double, _ y: Double) -> Int { Int((x + (y - x) * t).rounded()) }
        return "rgb(\(channel(a.0, b.0)),\(channel(a.1, b.1)),\(channel(a.2, b.2)))"
    }
}
