using TinyLlm.MLNet.IO;
namespace TinyLlm.MLNet.Training;

/// <summary>Draws the loss curve (training loss per logged step, estimated train and val loss per evaluation) with ScottPlot.</summary>
internal static class LossCurvePlot
{
    /// <summary>Writes a PNG to <paramref name="path"/> (via <c>path.tmp</c> and a rename).</summary>
    public static void Write(string path, IReadOnlyList<(double Iter, double Loss)> steps, IReadOnlyList<(double Iter, double Train, double Val)> evals)
    {
        var plot = new ScottPlot.Plot();
        if (steps.Count > 0)
        {
            var s = plot.Add.ScatterLine(steps.Select(p => p.Iter).ToArray(), steps.Select(p => p.Loss).ToArray());
            s.LegendText = "train (batch)";
            s.LineWidth = 1;
        }
        if (evals.Count > 0)
        {
            double[] xs = evals.Select(p => p.Iter).ToArray();
            var t = plot.Add.Scatter(xs, evals.Select(p => p.Train).ToArray());
            t.LegendText = "train (eval)";
            t.LineWidth = 2;
            var v = plot.Add.Scatter(xs, evals.Select(p => p.Val).ToArray());
            v.LegendText = "val (eval)";
            v.LineWidth = 2;
        }
        plot.Title("TinyLlm training loss");
        plot.XLabel("iteration");
        plot.YLabel("cross-entropy loss");
        plot.ShowLegend(ScottPlot.Alignment.UpperRight); // the curves fall, so the upper right stays clear
        byte[] png = plot.GetImageBytes(900, 540, ScottPlot.ImageFormat.Png);
        AtomicFile.WriteAllBytes(path, png);
    }
}
