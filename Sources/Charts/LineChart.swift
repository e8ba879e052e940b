/// Lines over a shared x axis, with axes, ticks, a legend and optional shaded bands (mean ± std).
public struct LineChart {
    public struct Series {
        public var name: String
        public var points: [(x: Double, y: Double)]
        /// Half-widths of a band around each point (same count as `points`), or none.
        public var spread: [Double]?

        public init(name: String, points: [(x: Double, y: Double)], spread: [Double]? = nil) {
            self.name = name
            self.points = points
            self.spread = spread
        }
    }

    public var title: String
    public var xLabel: String
    public var yLabel: String
    public var series: [Series]
    public var yScale: Axis.Scale

    public init(title: String, xLabel: String, yLabel: String, series: [Series], yScale: Axis.Scale = .linear) {
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.series = series
        self.yScale = yScale
    }

    /// Draws the chart in the rectangle at (`x`, `y`) of size `width` × `height`.
    public func draw(in canvas: inout SVGCanvas, x: Double, y: Double, width: Double, height: Double) {
        let plot = Frame(chartAt: x, y: y, width: width, height: height)
        let xs = series.flatMap { $0.points.map(\.x) }
        let ys = series.flatMap { s in
            s.points.enumerated().flatMap { index, point in
                let spread = s.spread.flatMap { $0.indices.contains(index) ? $0[index] : nil } ?? 0
                return [point.y - spread, point.y + spread]
            }
        }
        let xAxis = Axis(spanning: xs), yAxis = Axis(spanning: ys, scale: yScale)
        plot.drawAxes(in: &canvas, xAxis: xAxis, yAxis: yAxis, title: title, xLabel: xLabel, yLabel: yLabel)
        for (index, s) in series.enumerated() {
            let color = Palette.series[index % Palette.series.count]
            let mapped = s.points.map { (plot.x + plot.width * xAxis.fraction($0.x), plot.y + plot.height * (1 - yAxis.fraction($0.y))) }
            if let spread = s.spread, spread.count == s.points.count {
                for (point, half) in zip(s.points, spread) where half > 0 {
                    let px = plot.x + plot.width * xAxis.fraction(point.x)
                    canvas.line(x1: px, y1: plot.y + plot.height * (1 - yAxis.fraction(point.y - half)),
                                x2: px, y2: plot.y + plot.height * (1 - yAxis.fraction(point.y + half)), stroke: color, width: 1)
                }
            }
            canvas.polyline(mapped, stroke: color)
            for (px, py) in mapped { canvas.circle(x: px, y: py, radius: 3, fill: color) }
        }
        Legend(entries: series.map(\.name)).draw(in: &canvas, x: plot.x, y: y + height - 26)
    }

    /// The chart alone as an SVG document.
    public func svg(width: Double = 640, height: Double = 420) -> String {
        var canvas = SVGCanvas(width: width, height: height)
        draw(in: &canvas, x: 0, y: 0, width: width, height: height)
        return canvas.rendered()
    }
}
