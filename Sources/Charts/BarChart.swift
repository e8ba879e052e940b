/// Grouped bars: one group per category, one bar per series, on a linear or logarithmic value axis.
public struct BarChart {
    public var title: String
    public var categories: [String]
    public var xLabel: String
    public var yLabel: String
    /// Each series' name and its value per category.
    public var series: [(name: String, values: [Double])]
    public var yScale: Axis.Scale

    public init(title: String, categories: [String], xLabel: String, yLabel: String,
                series: [(name: String, values: [Double])], yScale: Axis.Scale = .linear) {
        self.title = title
        self.categories = categories
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.series = series
        self.yScale = yScale
    }

    public func draw(in canvas: inout SVGCanvas, x: Double, y: Double, width: Double, height: Double) {
        let plot = Frame(chartAt: x, y: y, width: width, height: height)
        let yAxis = Axis(spanning: series.flatMap(\.values), scale: yScale, includingZero: yScale == .linear)
        plot.drawAxes(in: &canvas, xAxis: nil, yAxis: yAxis, title: title, xLabel: xLabel, yLabel: yLabel)
        let groupWidth = plot.width / Double(max(categories.count, 1))
        let barWidth = groupWidth * 0.8 / Double(max(series.count, 1))
        let base = yScale == .linear ? plot.y + plot.height * (1 - yAxis.fraction(0)) : plot.y + plot.height
        for (c, category) in categories.enumerated() {
            let groupX = plot.x + groupWidth * Double(c) + groupWidth * 0.1
            for (s, entry) in series.enumerated() where c < entry.values.count {
                let value = entry.values[c]
                let top = plot.y + plot.height * (1 - yAxis.fraction(value))
                canvas.rectangle(x: groupX + barWidth * Double(s), y: min(top, base), width: barWidth - 1,
                                 height: abs(base - top), fill: Palette.series[s % Palette.series.count],
                                 title: "\(entry.name), \(category): \(value)")
            }
            canvas.text(category, x: groupX + groupWidth * 0.4, y: plot.y + plot.height + 16, size: 10, anchor: .middle)
        }
        Legend(entries: series.map(\.name)).draw(in: &canvas, x: plot.x, y: y + height - 26)
    }

    public func svg(width: Double = 640, height: Double = 420) -> String {
        var canvas = SVGCanvas(width: width, height: height)
        draw(in: &canvas, x: 0, y: 0, width: width, height: height)
        return canvas.rendered()
    }
}
