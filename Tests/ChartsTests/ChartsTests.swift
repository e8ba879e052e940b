import Charts
import Foundation
import TestSupport
import Testing

/// The SVG writer, checked by parsing what it writes with an XML parser.
struct SVGCanvasTests {
    @Test func aDocumentIsWellFormedSVGWithEscapedText() throws {
        var canvas = SVGCanvas(width: 300, height: 200)
        canvas.text(#"λ < 1e-3 & "Adam" 'L2' > AdamW"#, x: 10, y: 20)
        canvas.rectangle(x: 1.234, y: 2, width: 3, height: 4, fill: "#0072B2", title: "a & b")
        canvas.line(x1: 0, y1: 0, x2: 1e-7, y2: 5, stroke: "#444", dashed: true)
        canvas.polyline([(0, 0), (10, 5.555)], stroke: "red")
        canvas.circle(x: 3, y: 4, radius: 2, fill: "blue")
        let svg = try ParsedSVG(canvas.rendered())
        let root = try #require(svg.elements.first)
        #expect(root.name == "svg" && root.attributes["xmlns"] == "http://www.w3.org/2000/svg")
        #expect(root.attributes["width"] == "300" && root.attributes["viewBox"] == "0 0 300 200")
        #expect(svg.texts == [#"λ < 1e-3 & "Adam" 'L2' > AdamW"#])
        #expect(svg.all("title").map(\.text) == ["a & b"])
        let rect = try #require(svg.all("rect").last)
        #expect(rect.attributes["x"] == "1.23", "two decimals")
        #expect(svg.all("line").first?.attributes["x2"] == "0", "never an exponent")
        #expect(svg.all("polyline").first?.attributes["points"] == "0,0 10,5.56")
        #expect(svg.all("circle").count == 1)
    }

    @Test func nonFiniteCoordinatesAreWrittenAsZero() throws {
        var canvas = SVGCanvas(width: 10, height: 10)
        canvas.circle(x: .nan, y: .infinity, radius: 1, fill: "red")
        let circle = try #require(try ParsedSVG(canvas.rendered()).all("circle").first)
        #expect(circle.attributes["cx"] == "0" && circle.attributes["cy"] == "0")
    }
}

struct AxisTests {
    @Test func aLinearAxisHasNiceTicksCoveringTheValues() {
        let axis = Axis(spanning: [0.13, 0.92])
        #expect(axis.minimum == 0 && axis.maximum == 1)
        #expect(axis.ticks.map(\.label) == ["0.0", "0.2", "0.4", "0.6", "0.8", "1.0"])
        #expect(axis.fraction(0.5) == 0.5 && axis.fraction(-3) == 0 && axis.fraction(7) == 1)
        #expect(Axis(spanning: [95.4, 98.2]).ticks.map(\.label) == ["95", "96", "97", "98", "99"])
    }

    /// The ticks fall on the step the range was rounded to, and each label reads back as its tick's value. (A range
    /// of 0.15…0.45 once got ticks 0.1 apart from 0.15, labeled "0.2", "0.2", "0.4", "0.5".)
    @Test func tickLabelsNameTheirValues() {
        let axis = Axis(spanning: [0.18, 0.42])
        #expect(axis.ticks.map(\.label) == ["0.15", "0.20", "0.25", "0.30", "0.35", "0.40", "0.45"])
        var random = TestRandom(seed: 5)
        for _ in 0..<500 {
            let low = Double(random.next() % 100_000) / 1000 - 50
            let high = low + Double(random.next() % 100_000 + 1) / Double([1, 100, 10_000][Int(random.next() % 3)])
            let ticks = Axis(spanning: [low, high]).ticks
            let spacing = ticks.count > 1 ? ticks[1].value - ticks[0].value : 1
            #expect(Set(ticks.map(\.label)).count == ticks.count, "\(low)…\(high): \(ticks.map(\.label))")
            #expect(ticks.allSatisfy { abs((Double($0.label) ?? .nan) - $0.value) < spacing / 100 },
                    "\(low)…\(high): \(ticks.map(\.label))")
        }
    }

    @Test func aLogarithmicAxisSpansWholeDecadesBelowItsSmallestValue() {
        let axis = Axis(spanning: [3e-4, 2.5, 0, -1], scale: .logarithmic)
        #expect(axis.minimum == 1e-4 && axis.maximum == 10, "non-positive values are left out")
        #expect(axis.ticks.map(\.label) == ["1e-4", "1e-3", "1e-2", "1e-1", "1e0", "1e1"])
        let exact = Axis(spanning: [1e-5, 1e-3], scale: .logarithmic)
        #expect(exact.minimum == 1e-6, "a value on a decade sits above the bottom, so its bar shows")
        #expect(abs(exact.fraction(1e-4) - 2.0 / 3) < 1e-12)
    }

    /// Values too close together for their own resolution, and a band shorter than its line, still draw.
    @Test func degenerateInputsDrawWithoutTrapping() throws {
        #expect(Axis(spanning: [1e20, 1e20 + 1e5]).ticks.count <= 51)
        let chart = LineChart(title: "t", xLabel: "x", yLabel: "y",
                              series: [.init(name: "a", points: [(1, 1), (2, 2), (3, 3)], spread: [0.5])])
        #expect(try ParsedSVG(chart.svg()).all("polyline").count == 1)
    }

    @Test func anEmptyAxisStillHasARange() {
        #expect(Axis(spanning: []).minimum < Axis(spanning: []).maximum)
        #expect(Axis(spanning: [.nan], scale: .logarithmic).maximum > 0)
        #expect(Axis(spanning: [2, 2]).minimum < 2 && Axis(spanning: [2, 2]).maximum > 2)
    }
}

struct ChartTests {
    @Test func aBarChartDrawsOneBarPerCategoryAndSeriesScaledToItsValue() throws {
        let chart = BarChart(title: "Shrink", categories: ["1", "2", "3"], xLabel: "decile", yLabel: "per step",
                             series: [("Adam+L2", [1e-2, 1e-3, 1e-4]), ("AdamW", [1e-5, 1e-5, 1e-5])],
                             yScale: .logarithmic)
        let svg = try ParsedSVG(chart.svg())
        let bars = svg.all("rect").filter { $0.attributes["fill"] != "white" && $0.attributes["width"] != "12" }
        #expect(bars.count == 6, "3 categories × 2 series")
        let heights = bars.compactMap { $0.number("height") }
        #expect(heights.count == 6)
        #expect(heights[0] > heights[2] && heights[2] > heights[4], "Adam+L2 falls with the decile")
        #expect(abs(heights[1] - heights[3]) < 0.01 && abs(heights[3] - heights[5]) < 0.01, "AdamW is flat")
        #expect(abs((heights[0] - heights[2]) - (heights[2] - heights[4])) < 0.01, "a decade is a fixed height")
        for text in ["Shrink", "decile", "per step", "Adam+L2", "AdamW", "1", "2", "3", "1e-6", "1e-2"] {
            #expect(svg.texts.contains(text), "\(text)")
        }
        #expect(svg.all("title").map(\.text).contains("Adam+L2, 2: 0.001"))
    }

    @Test func aLineChartDrawsEachSeriesWithItsBand() throws {
        let chart = LineChart(title: "Test loss", xLabel: "epoch", yLabel: "loss", series: [
            .init(name: "AdamW", points: [(1, 0.3), (2, 0.2), (3, 0.1)], spread: [0.01, 0, 0.02]),
            .init(name: "SGD", points: [(1, 0.25), (2, 0.15), (3, 0.12)]),
        ])
        let svg = try ParsedSVG(chart.svg())
        let lines = svg.all("polyline")
        #expect(lines.count == 2)
        #expect(lines.map { ($0.attributes["points"] ?? "").split(separator: " ").count } == [3, 3])
        #expect(lines[0].attributes["stroke"] != lines[1].attributes["stroke"], "each series its colour")
        #expect(svg.all("circle").count == 6)
        // Two error bars (spread > 0), vertical: same x at both ends.
        let bars = svg.all("line").filter { $0.attributes["stroke"] == lines[0].attributes["stroke"] }
        #expect(bars.count == 2 && bars.allSatisfy { $0.attributes["x1"] == $0.attributes["x2"] })
        // Lower loss is drawn higher up (SVG y grows downwards).
        let ys = (lines[0].attributes["points"] ?? "").split(separator: " ").compactMap { Double($0.split(separator: ",")[1]) }
        #expect(ys == ys.sorted())
        #expect(svg.texts.contains("Test loss") && svg.texts.contains("AdamW") && svg.texts.contains("epoch"))
    }

    @Test func aHeatmapDrawsEveryCellWithItsValueScaleAndBestCell() throws {
        let map = Heatmap(title: "AdamW", columnLabels: ["1e-4", "1e-3"], rowLabels: ["1e-3", "1e-2", "1e-1"],
                          xLabel: "weight decay", yLabel: "learning rate",
                          values: [[2.5, 3.0], [1.75, .nan], [9, 10]], range: 1.75...10, highlighted: (1, 0))
        let svg = try ParsedSVG(map.svg())
        let cells = svg.all("rect").filter { $0.attributes["stroke"] == "white" }
        #expect(cells.count == 6)
        #expect(cells.filter { $0.attributes["fill"] == "#cccccc" }.count == 1, "the NaN cell is grey")
        #expect(svg.all("rect").filter { $0.attributes["fill"] == "none" && $0.attributes["stroke"] == "#D55E00" }.count == 1)
        for text in ["2.5", "1.8", "10.0", "–", "1e-4", "1e-1", "weight decay", "learning rate", "AdamW"] {
            #expect(svg.texts.contains(text), "\(text)")
        }
        #expect(cells.first?.attributes["fill"] != cells.last?.attributes["fill"], "values map to colours")
        // Row 0 at the bottom: the first row's cells lie below the last row's.
        #expect((cells[0].number("y") ?? 0) > (cells[4].number("y") ?? 0))
    }

    /// On a log colour scale 10 lies halfway between 1 and 100; on a linear one, near the bottom.
    @Test func aLogarithmicColourScaleSpreadsSmallValues() throws {
        func fills(_ scale: Axis.Scale) throws -> [String] {
            let map = Heatmap(title: "t", columnLabels: ["a", "b", "c"], rowLabels: ["r"], xLabel: "x", yLabel: "y",
                              values: [[1, 10, 100]], range: 1...100, colorScale: scale)
            return try ParsedSVG(map.svg()).all("rect").filter { $0.attributes["stroke"] == "white" }
                .compactMap { $0.attributes["fill"] }
        }
        #expect(try fills(.logarithmic) == [Palette.sequential(0), Palette.sequential(0.5), Palette.sequential(1)])
        #expect(try fills(.linear)[1] == Palette.sequential(9.0 / 99))
    }

    @Test func theSequentialScaleRunsFromLightToDark() {
        #expect(Palette.sequential(0) == "rgb(253,231,37)")
        #expect(Palette.sequential(1) == "rgb(68,1,84)")
        #expect(Palette.sequential(-5) == Palette.sequential(0) && Palette.sequential(.nan) == Palette.sequential(0))
    }
}
