using TorchSharp;
using static TorchSharp.torch;

namespace TinyLlm.MLNet.Tests;

[TestClass]
public sealed class TorchSharpLoadTests
{
    [TestMethod]
    public void ForwardAndBackwardOnCpuMatchNumericalGradient()
    {
        // A two-layer tanh network in float64, so central differences are accurate to ~1e-8.
        torch.manual_seed(7);
        using var scope = torch.NewDisposeScope();
        var x = torch.randn(4, 3, dtype: float64);
        var w1 = torch.randn(3, 5, dtype: float64).requires_grad_();
        var w2 = torch.randn(5, 1, dtype: float64).requires_grad_();
        Func<Tensor> loss = () => torch.tanh(x.matmul(w1)).matmul(w2).pow(2).sum();

        loss().backward();
        var analytic = w1.grad!.clone();

        const double h = 1e-6;
        using (torch.no_grad())
        {
            for (int i = 0; i < 3; i++)
            for (int j = 0; j < 5; j++)
            {
                double original = w1[i, j].item<double>();
                w1[i, j] = original + h;
                double plus = loss().item<double>();
                w1[i, j] = original - h;
                double minus = loss().item<double>();
                w1[i, j] = original;
                double numeric = (plus - minus) / (2 * h);
                Assert.AreEqual(numeric, analytic[i, j].item<double>(), 1e-6 * Math.Max(1, Math.Abs(numeric)), $"d loss / d w1[{i},{j}]");
            }
        }
        Assert.AreEqual(DeviceType.CPU, x.device_type);
    }
}
