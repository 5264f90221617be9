using System.Globalization;
using System.Text;
using TinyLlm.MLNet.IO;

namespace TinyLlm.MLNet.Training;

/// <summary>
/// The run's metrics as <c>out_dir/metrics.csv</c> (one row per logged step and per evaluation) and the loss curve
/// <c>out_dir/loss.png</c>, both rewritten (temp + rename) at each evaluation. A resumed run keeps the earlier
/// rows up to the iteration it resumes from.
/// </summary>
internal sealed class MetricsLog
{
    public const string CsvName = "metrics.csv";
    public const string PlotName = "loss.png";
    private const string HeaderLine = "kind,iter,tokens,lr,loss,train_loss,val_loss,step_ms,tokens_per_s,mfu";

    private readonly string _dir;
    private readonly List<string> _rows = [];
    private readonly List<(double Iter, double Loss)> _steps = [];
    private readonly List<(double Iter, double Train, double Val)> _evals = [];

    private MetricsLog(string dir) => _dir = dir;

    /// <summary>Opens the log of <paramref name="dir"/>, keeping rows of iterations before <paramref name="fromIter"/>.</summary>
    public static MetricsLog Open(string dir, long fromIter)
    {
        var log = new MetricsLog(dir);
        string path = Path.Combine(dir, CsvName);
        if (fromIter > 0 && File.Exists(path))
        {
            foreach (var line in File.ReadLines(path).Skip(1))
            {
                var f = line.Split(',');
                if (f.Length != 10 || !long.TryParse(f[1], CultureInfo.InvariantCulture, out long it)) continue;
                if (it >= fromIter) continue; // the resumed run repeats the evaluation of fromIter
                log._rows.Add(line);
                if (f[0] == "step" && double.TryParse(f[4], CultureInfo.InvariantCulture, out double l)) log._steps.Add((it, l));
                if (f[0] == "eval" && double.TryParse(f[5], CultureInfo.InvariantCulture, out double tl) && double.TryParse(f[6], CultureInfo.InvariantCulture, out double vl)) log._evals.Add((it, tl, vl));
            }
        }
        return log;
    }

    private static string F(double v) => double.IsNaN(v) ? "" : v.ToString("R", CultureInfo.InvariantCulture);

    public void AddStep(long iter, long tokens, double lr, double loss, double stepMs, double tokensPerSecond, double mfu)
    {
        _rows.Add(string.Join(',', "step", iter.ToString(CultureInfo.InvariantCulture), tokens.ToString(CultureInfo.InvariantCulture), F(lr), F(loss), "", "", F(stepMs), F(tokensPerSecond), mfu < 0 ? "" : F(mfu)));
        _steps.Add((iter, loss));
    }

    public void AddEval(long iter, long tokens, double lr, double trainLoss, double valLoss)
    {
        _rows.Add(string.Join(',', "eval", iter.ToString(CultureInfo.InvariantCulture), tokens.ToString(CultureInfo.InvariantCulture), F(lr), "", F(trainLoss), F(valLoss), "", "", ""));
        _evals.Add((iter, trainLoss, valLoss));
    }

    /// <summary>Rewrites the CSV and the plot.</summary>
    public void Flush()
    {
        var sb = new StringBuilder().AppendLine(HeaderLine);
        foreach (var row in _rows) sb.AppendLine(row);
        string csv = Path.Combine(_dir, CsvName);
        AtomicFile.WriteAllText(csv, sb.ToString());
        LossCurvePlot.Write(Path.Combine(_dir, PlotName), _steps, _evals);
    }
}
