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
        let plot = Frame(x: x + 64, y: y + 34, width: width - 84, height: height - 110)
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

/// The plotting rectangle of a chart, and the axes, grid and labels around it.
struct Frame {
    let x: Double, y: Double, width: Double, height: Double

    func drawAxes(in canvas: inout SVGCanvas, xAxis: Axis?, yAxis: Axis, title: String, xLabel: String, yLabel: String) {
        canvas.text(title, x: x + width / 2, y: y - 14, size: 14, anchor: .middle, bold: true)
        for tick in yAxis.ticks {
            let ty = y + height * (1 - yAxis.fraction(tick.value))
            canvas.line(x1: x, y1: ty, x2: x + width, y2: ty, stroke: "#e5e5e5")
            canvas.text(tick.label, x: x - 6, y: ty + 4, size: 10, anchor: .end)
        }
        if let xAxis {
            for tick in xAxis.ticks {
                let tx = x + width * xAxis.fraction(tick.value)
                canvas.line(x1: tx, y1: y + height, x2: tx, y2: y + height + 4, stroke: "#444")
                canvas.text(tick.label, x: tx, y: y + height + 16, size: 10, anchor: .middle)
            }
        }
        canvas.line(x1: x, y1: y + height, x2: x + width, y2: y + height, stroke: "#444")
        canvas.line(x1: x, y1: y, x2: x, y2: y + height, stroke: "#444")
        canvas.text(xLabel, x: x + width / 2, y: y + height + 34, size: 12, anchor: .middle)
        canvas.text(yLabel, x: x - 48, y: y + height / 2, size: 12, anchor: .middle, rotated: true)
    }
}

/// Coloured swatches and names in a row.
struct Legend {
    let entries: [String]

    func draw(in canvas: inout SVGCanvas, x: Double, y: Double) {
        var cursor = x
        for (index, name) in entries.enumerated() {
            canvas.rectangle(x: cursor, y: y, width: 12, height: 12, fill: Palette.series[index % Palette.series.count])
            canvas.text(name, x: cursor + 16, y: y + 10, size: 11)
            cursor += 28 + Double(name.count) * 6.5
        }
    }
}
