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
