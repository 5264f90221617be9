using System.Globalization;
using System.Text;
using TinyLlm.MLNet.IO;

namespace TinyLlm.MLNet.Training;

/// <summary>
/// The run's metrics as <c>OutDir/metrics.csv</c> (one row per logged step and per evaluation), rewritten (temp +
/// rename) at each evaluation, before that evaluation's checkpoint. (<c>tinyllm train</c> draws <c>loss.png</c> from it.)
/// A resumed run keeps the earlier
/// rows up to the iteration it resumes from.
/// </summary>
internal sealed class MetricsLog
{
    public const string CsvName = "metrics.csv";
    private const string HeaderLine = "kind,iter,tokens,lr,loss,train_loss,val_loss,step_ms,tokens_per_s,mfu";

    private readonly string _dir;
    private readonly List<string> _rows = [];

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
            }
        }
        return log;
    }

    private static string F(double v) => double.IsNaN(v) ? "" : v.ToString("R", CultureInfo.InvariantCulture);

    public void AddStep(long iter, long tokens, double lr, double loss, double stepMs, double tokensPerSecond, double mfu)
    {
        _rows.Add(string.Join(',', "step", iter.ToString(CultureInfo.InvariantCulture), tokens.ToString(CultureInfo.InvariantCulture), F(lr), F(loss), "", "", F(stepMs), F(tokensPerSecond), mfu < 0 ? "" : F(mfu)));
    }

    public void AddEval(long iter, long tokens, double lr, double trainLoss, double valLoss)
    {
        _rows.Add(string.Join(',', "eval", iter.ToString(CultureInfo.InvariantCulture), tokens.ToString(CultureInfo.InvariantCulture), F(lr), "", F(trainLoss), F(valLoss), "", "", ""));
    }

    /// <summary>Rewrites the CSV.</summary>
    public void Flush()
    {
        var sb = new StringBuilder().AppendLine(HeaderLine);
        foreach (var row in _rows) sb.AppendLine(row);
        string csv = Path.Combine(_dir, CsvName);
        AtomicFile.WriteAllText(csv, sb.ToString());
    }
}
