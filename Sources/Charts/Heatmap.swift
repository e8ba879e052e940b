import Foundation

/// A grid of coloured cells with row and column labels, each cell's value written in it, a colour scale, and
/// optionally one cell outlined (the best).
public struct Heatmap {
    public var title: String
    public var columnLabels: [String]
    public var rowLabels: [String]
    public var xLabel: String
    public var yLabel: String
    /// values[row][column]; NaN cells are drawn grey.
    public var values: [[Double]]
    /// The value range of the colour scale (shared by heatmaps drawn side by side).
    public var range: ClosedRange<Double>
    public var highlighted: (row: Int, column: Int)?
    public var valueFormat: (Double) -> String
    /// How values map to colours: linearly, or by their logarithm (so that one bad cell does not wash out the
    /// differences among the good ones; the range must then be positive).
    public var colorScale: Axis.Scale

    public init(title: String, columnLabels: [String], rowLabels: [String], xLabel: String, yLabel: String,
                values: [[Double]], range: ClosedRange<Double>, highlighted: (row: Int, column: Int)? = nil,
                colorScale: Axis.Scale = .linear,
                valueFormat: @escaping (Double) -> String = { String(format: "%.1f", $0) }) {
        self.title = title
        self.columnLabels = columnLabels
        self.rowLabels = rowLabels
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.values = values
        self.range = range
        self.highlighted = highlighted
        self.valueFormat = valueFormat
        self.colorScale = colorScale
    }

    /// The position of `value` on the colour scale, 0…1 (NaN for NaN).
    func colorFraction(_ value: Double) -> Double {
        let (low, high) = (range.lowerBound, range.upperBound)
        let fraction: Double
        switch colorScale {
        case .linear: fraction = high > low ? (value - low) / (high - low) : 0
        case .logarithmic:
            fraction = high > low && low > 0 && value > 0 ? log(value / low) / log(high / low) : 0
        }
        return value.isNaN ? .nan : min(max(fraction, 0), 1)
    }

    public func draw(in canvas: inout SVGCanvas, x: Double, y: Double, width: Double, height: Double) {
        let plot = Frame(x: x + 70, y: y + 34, width: width - 90, height: height - 120)
        canvas.text(title, x: plot.x + plot.width / 2, y: plot.y - 14, size: 14, anchor: .middle, bold: true)
        let rows = values.count, columns = values.first?.count ?? 0
        let cellWidth = plot.width / Double(max(columns, 1)), cellHeight = plot.height / Double(max(rows, 1))
        for (r, row) in values.enumerated() {
            for (c, value) in row.enumerated() {
                // Row 0 at the bottom, so that both axes grow away from the origin.
                let cx = plot.x + cellWidth * Double(c), cy = plot.y + plot.height - cellHeight * Double(r + 1)
                let fraction = colorFraction(value)
                let fill = value.isNaN ? "#cccccc" : Palette.sequential(fraction)
                canvas.rectangle(x: cx, y: cy, width: cellWidth, height: cellHeight, fill: fill, stroke: "white",
                                 title: "\(rowLabels[safe: r] ?? ""), \(columnLabels[safe: c] ?? ""): \(valueFormat(value))")
                canvas.text(value.isNaN ? "–" : valueFormat(value), x: cx + cellWidth / 2, y: cy + cellHeight / 2 + 4,
                            size: 10, anchor: .middle, color: fraction > 0.55 ? "white" : "#222")
            }
        }
        if let highlighted, highlighted.row < rows, highlighted.column < columns {
            let cx = plot.x + cellWidth * Double(highlighted.column)
            let cy = plot.y + plot.height - cellHeight * Double(highlighted.row + 1)
            canvas.rectangle(x: cx + 1.5, y: cy + 1.5, width: cellWidth - 3, height: cellHeight - 3, fill: "none",
                             stroke: "#D55E00", strokeWidth: 3)
        }
        for (c, label) in columnLabels.enumerated() {
            canvas.text(label, x: plot.x + cellWidth * (Double(c) + 0.5), y: plot.y + plot.height + 16, size: 10, anchor: .middle)
        }
        for (r, label) in rowLabels.enumerated() {
            canvas.text(label, x: plot.x - 6, y: plot.y + plot.height - cellHeight * (Double(r) + 0.5) + 4, size: 10, anchor: .end)
        }
        canvas.text(xLabel, x: plot.x + plot.width / 2, y: plot.y + plot.height + 34, size: 12, anchor: .middle)
        canvas.text(yLabel, x: plot.x - 56, y: plot.y + plot.height / 2, size: 12, anchor: .middle, rotated: true)
        // The colour scale under the grid.
        let scaleY = plot.y + plot.height + 48
        for step in 0..<40 {
            canvas.rectangle(x: plot.x + plot.width * Double(step) / 40, y: scaleY, width: plot.width / 40 + 0.5,
                             height: 10, fill: Palette.sequential(Double(step) / 39))
        }
        canvas.text(valueFormat(range.lowerBound), x: plot.x, y: scaleY + 24, size: 10, anchor: .start)
        canvas.text(valueFormat(range.upperBound), x: plot.x + plot.width, y: scaleY + 24, size: 10, anchor: .end)
        if colorScale == .logarithmic {
            canvas.text("(log scale)", x: plot.x + plot.width / 2, y: scaleY + 24, size: 10, anchor: .middle)
        }
    }

    public func svg(width: Double = 560, height: Double = 520) -> String {
        var canvas = SVGCanvas(width: width, height: height)
        draw(in: &canvas, x: 0, y: 0, width: width, height: height)
        return canvas.rendered()
    }
}

extension Array {
    subscript(safe index: Int) -> Element? { indices.contains(index) ? self[index] : nil }
}
