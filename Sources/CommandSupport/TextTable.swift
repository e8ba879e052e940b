/// One line of a plain-text table: each cell right-aligned in its column's width, columns two spaces apart.
public func tableRow(_ cells: [String], widths: [Int]) -> String {
    zip(cells, widths).map { cell, width in
        String(repeating: " ", count: max(0, width - cell.count)) + cell
    }.joined(separator: "  ")
}
