using TinyLlm.MLNet.Engine;
using TinyLlm.MLNet.Modeling;
using TorchSharp;
using static TorchSharp.torch;

namespace TinyLlm.MLNet.Decoding;

/// <summary>
/// Scores a batch of windows with one forward pass of the TorchSharp <see cref="LlamaModel"/> (the training forward,
/// no cache): windows padded at the end to the longest, padding masked out of the loss, log-softmax in fp32 and each
/// window's sum in double. The model is borrowed (its device and compute type as they are).
/// </summary>
internal sealed class TorchSharpWindowScorer : IWindowScorer
{
    private readonly LlamaModel _model;

    public TorchSharpWindowScorer(LlamaModel model, int maxWindows)
    {
        _model = model ?? throw new ArgumentNullException(nameof(model));
        ArgumentOutOfRangeException.ThrowIfLessThan(maxWindows, 1);
        MaxWindows = maxWindows;
    }

    public LlamaConfig Config => _model.Config;

    public int MaxWindows { get; }

    public void Score(ReadOnlySpan<int[]> windows, Span<double> nll)
    {
        DecoderArguments.CheckWindows(Config, MaxWindows, windows, nll.Length);
        int n = windows.Length, t = 0;
        foreach (var w in windows) t = Math.Max(t, w.Length - 1);
        var inputs = new long[n * t];
        var targets = new long[n * t];
        Array.Fill(targets, -1L); // padding: no target
        for (int i = 0; i < n; i++)
        {
            var w = windows[i];
            for (int p = 0; p < w.Length - 1; p++)
            {
                inputs[i * t + p] = w[p];
                targets[i * t + p] = w[p + 1];
            }
        }

        bool wasTraining = _model.training;
        _model.eval();
        try
        {
            using var noGrad = torch.no_grad();
            using var scope = torch.NewDisposeScope();
            var device = _model.Device;
            var y = torch.tensor(targets, [n, t], device: device);
            var logProbs = _model.forward(torch.tensor(inputs, [n, t], device: device)).log_softmax(-1);   // (n, t, vocab)
            var picked = logProbs.gather(2, y.clamp_min(0).unsqueeze(2)).squeeze(2);                      // (n, t)
            var perWindow = -(picked.to(ScalarType.Float64) * y.ge(0).to(ScalarType.Float64)).sum(1);      // (n)
            perWindow.cpu().data<double>().CopyTo(nll);
        }
        finally
        {
            _model.train(wasTraining);
        }
    }

    // The model belongs to the decoders that made it.
    public void Dispose()
    {
    }
}
