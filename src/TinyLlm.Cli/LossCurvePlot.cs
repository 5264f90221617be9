using System.Globalization;
using TinyLlm.MLNet.IO;

namespace TinyLlm.Cli;

/// <summary>
/// Draws <c>loss.png</c> (training loss per logged step, estimated train and val loss per evaluation) from the
/// <c>metrics.csv</c> the trainer writes, with ScottPlot. It lives in the command, not the library: ScottPlot brings
/// SkiaSharp's native libraries for every platform (164 MB of a trainer app's 688 MB build output), which an app
/// that trains through <c>TrainLlama</c> need not carry (docs/training.md).
/// </summary>
internal static class LossCurvePlot
{
    /// <summary>The plot's file name beside metrics.csv.</summary>
    public const string FileName = "loss.png";

    /// <summary>Draws <c>loss.png</c> beside <paramref name="metricsCsv"/> (via <c>loss.png.tmp</c> and a rename); nothing when there is no CSV yet.</summary>
    public static void Update(string metricsCsv)
    {
        if (!File.Exists(metricsCsv)) return;
        var steps = new List<(double Iter, double Loss)>();
        var evals = new List<(double Iter, double Train, double Val)>();
        foreach (string line in File.ReadLines(metricsCsv).Skip(1))
        {
            // kind,iter,tokens,lr,loss,train_loss,val_loss,step_ms,tokens_per_s,mfu
            string[] f = line.Split(',');
            if (f.Length < 7 || !double.TryParse(f[1], CultureInfo.InvariantCulture, out double iter)) continue;
            if (f[0] == "step" && double.TryParse(f[4], CultureInfo.InvariantCulture, out double loss)) steps.Add((iter, loss));
            if (f[0] == "eval" && double.TryParse(f[5], CultureInfo.InvariantCulture, out double train) && double.TryParse(f[6], CultureInfo.InvariantCulture, out double val))
                evals.Add((iter, train, val));
        }
        Write(Path.Combine(Path.GetDirectoryName(Path.GetFullPath(metricsCsv))!, FileName), steps, evals);
    }

    private static void Write(string path, IReadOnlyList<(double Iter, double Loss)> steps, IReadOnlyList<(double Iter, double Train, double Val)> evals)
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
