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

extension Frame {
    /// The plotting rectangle of a line or bar chart drawn at (`x`, `y`) in `width` × `height`: room on the left
    /// for the y ticks and label, above for the title, below for the x ticks, label and legend.
    init(chartAt x: Double, y: Double, width: Double, height: Double) {
        self.init(x: x + 64, y: y + 34, width: width - 84, height: height - 110)
    }
}
