import Charts
import CommandSupport
import Experiments
import Foundation
import Kernels
import Optim
import Training

extension CompareCommand {
    /// The GPT: λ chosen on the selection half of the validation split, the held-out half reported.
    func gptView(iterations: Int, runs: Int, trainCharacters: Int) -> View {
        View(
            selectionHeading: "λ chosen by the loss on the selection half of the validation split (seed \(common.seed), \(iterations) iterations):",
            selectionCell: { "λ=\(shortNumber($0.weightDecay)) \(format($0.record.evaluationLoss, 4))" },
            resultsHeading: "After \(iterations) iterations, mean ± std over \(seeds) seed(s); the held-out half was not used to choose:",
            tableHeader: ["optimizer", "λ", "held-out loss", "selection loss", "train loss", "weight norm"], widths: Self.gptWidths,
            tableRow: { s in
                [s.contender, shortNumber(s.weightDecay), Self.text(Self.heldOut(s), 4), Self.text(s.evaluationLoss, 4),
                 Self.text(s.trainLoss, 4), Self.text(s.weightNorm, 2)]
            },
            runColumns: ["iteration", "train_loss", "selection_loss"],
            runCells: { ["\($0.step)", "\($0.trainLoss)", "\($0.evaluationLoss)"] },
            selectionColumns: ["selection_loss"],
            selectionCells: { ["\($0.evaluationLoss)"] },
            measureNames: ["heldout_loss", "selection_loss", "train_loss", "weight_norm"],
            measures: { [Self.heldOut($0), $0.evaluationLoss, $0.trainLoss, $0.weightNorm] },
            figure: { [seeds] outcome in Self.gptFigure(outcome, contenders: outcome.summaries.map(\.contender), seeds: seeds) },
            wroteNote: { seconds in " (\(runs) runs in \(format(seconds, 1)) s)" },
            summary: { [seeds] outcome, seconds in
                "summary job=compare task=gpt iters=\(iterations) seeds=\(seeds) train_chars=\(trainCharacters) "
                    + Self.summaryFields(outcome, "heldout_loss", scale: 1, digits: 4, Self.heldOut)
                    + " seconds=\(format(seconds, 1))"
            })
    }

    static let gptWidths = [9, 6, 18, 18, 18, 14]

    /// A GPT summary's held-out loss (every GPT run has one).
    static func heldOut(_ summary: Comparison.Summary) -> MeanAndDeviation {
        summary.heldOutLoss ?? MeanAndDeviation([.nan])
    }

    /// The train and selection losses along the runs, mean ± std over the seeds.
    static func gptFigure(_ outcome: Comparison.Outcome, contenders: [String], seeds: Int) -> String {
        let metrics: [(String, (RunRecord.Point) -> Double)] = [
            ("Train loss (20 batches)", { $0.trainLoss }), ("Validation loss, selection half (20 batches)", { $0.evaluationLoss }),
        ]
        let panelWidth = 560.0, panelHeight = 400.0
        var canvas = SVGCanvas(width: panelWidth * Double(metrics.count), height: panelHeight + 44)
        canvas.text("GPT: Adam+L2, AdamW and SGD at their best λ, mean ± std over \(seeds) seed(s)",
                    x: panelWidth * Double(metrics.count) / 2, y: 26, size: 16, anchor: .middle, bold: true)
        for (index, (title, metric)) in metrics.enumerated() {
            let series = contenders.map { name in
                let points = Comparison.curve(outcome.runs, contender: name, metric)
                let weightDecay = outcome.summaries.first { $0.contender == name }?.weightDecay ?? .nan
                return LineChart.Series(name: "\(name) λ=\(shortNumber(weightDecay))",
                                        points: points.map { (Double($0.step), $0.value.mean) },
                                        spread: points.map(\.value.deviation))
            }
            LineChart(title: title, xLabel: "iteration", yLabel: "mean cross-entropy", series: series)
                .draw(in: &canvas, x: panelWidth * Double(index), y: 44, width: panelWidth, height: panelHeight)
        }
        return canvas.rendered()
    }
}
