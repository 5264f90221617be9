using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;
using TinyLlm.MLNet.Shards;
using TinyLlm.MLNet.Training;
using TorchSharp;

namespace TinyLlm.Cli.Commands;

/// <summary>
/// <c>tinyllm bench train</c>: training tokens/s and peak memory of one configuration on random tokens, printed as
/// one JSON line (bench/train-bench.sh runs it beside the PyTorch reference, one process per measurement).
/// </summary>
internal static class BenchCommand
{
    public static Command Create()
    {
        var shape = new BenchModelShape();
        var batch = new Option<int>("--batch-size") { Description = "Sequences per step.", DefaultValueFactory = _ => 8 };
        var steps = new Option<int>("--steps") { Description = "Measured optimizer steps.", DefaultValueFactory = _ => 10 };
        var warmup = new Option<int>("--warmup") { Description = "Unmeasured steps first.", DefaultValueFactory = _ => 2 };
        var threads = new Option<int>("--threads") { Description = "libtorch intra-op threads; 0 = libtorch's default (one per core).", DefaultValueFactory = _ => Environment.ProcessorCount };
        var dtype = new Option<string>("--dtype") { Description = "float32 or bfloat16.", DefaultValueFactory = _ => "float32" };
        var explicitAttention = new Option<bool>("--explicit-attention") { Description = "Use the explicit attention formula instead of scaled_dot_product_attention." };
        var device = new Option<string>("--device") { Description = "auto, cpu, cuda or cuda:N.", DefaultValueFactory = _ => "cpu" };

        var train = new Command("train", "Measure training tokens/s and peak memory on random tokens; prints one JSON line.");
        shape.AddTo(train);
        foreach (var o in new Option[] { batch, steps, warmup, threads, dtype, explicitAttention, device })
            train.Options.Add(o);
        train.SetAction(parse =>
        {
            string outDir = Path.Combine(Path.GetTempPath(), "tinyllm-bench-" + Environment.ProcessId);
            int w = parse.GetValue(warmup), n = parse.GetValue(steps);
            var model = shape.Read(parse);
            var options = new TrainingOptions
            {
                OutDir = outDir, Dim = model.Dim, NLayers = model.NLayers, NHeads = model.NHeads,
                NKvHeads = model.NKvHeads, VocabSize = model.VocabSize, MaxSeqLen = model.MaxSeqLen,
                MultipleOf = model.MultipleOf, BatchSize = parse.GetValue(batch), GradientAccumulationSteps = 1,
                MaxIters = w + n - 1, EvalInterval = int.MaxValue, EvalIters = 1, WarmupIters = 0, LearningRate = 5e-4,
                Device = parse.GetValue(device)!, Dtype = parse.GetValue(dtype)!, WriteMetrics = false,
                UseScaledDotProductAttention = !parse.GetValue(explicitAttention), Threads = parse.GetValue(threads),
            };
            var stepMs = new List<double>();
            TrainingResult? result = null;
            var cpuAtStep = new List<double>(); // process CPU seconds at the end of each step: robust to other load on a shared machine
            var self = Process.GetCurrentProcess();
            double lastLoss = double.NaN;
            var trainer = new LlamaTrainer(options);
            try
            {
                result = trainer.Fit(new RandomTokenSource(options.VocabSize, options.MaxSeqLen, 1337),
                    new InlineProgress<TrainingProgress>(p =>
                    {
                        if (p.Event != TrainingEvent.Step) return;
                        stepMs.Add(p.StepMilliseconds);
                        self.Refresh();
                        cpuAtStep.Add(self.TotalProcessorTime.TotalSeconds);
                        lastLoss = p.Loss;
                    }));
                result.Model.Dispose();
            }
            finally
            {
                if (Directory.Exists(outDir)) Directory.Delete(outDir, recursive: true);
            }
            var measured = stepMs.Skip(w).ToList();
            double tokens = (double)options.BatchSize * options.MaxSeqLen;
            var report = new
            {
                impl = "tinyllm",
                dtype = options.Dtype,
                attention = parse.GetValue(explicitAttention) ? "explicit" : "sdpa",
                threads = torch.get_num_threads(),
                omp_wait_policy = OpenMpWaitPolicy.Description,
                tokens_per_s = tokens * measured.Count / (measured.Sum() / 1000),
                step_ms_median = measured.Order().ElementAt(measured.Count / 2),
                tokens_per_cpu_s = tokens * measured.Count / (cpuAtStep[^1] - cpuAtStep[w - 1]),
                final_loss = lastLoss,
                peak_flops = result!.Peak?.FlopsPerSecond,
                mfu = result.Peak is null ? (double?)null : tokens * measured.Count / (measured.Sum() / 1000) * result.FlopsPerToken / result.Peak.FlopsPerSecond,
                peak_rss_mb = Process.GetCurrentProcess().PeakWorkingSet64 / (1024.0 * 1024.0),
            };
            Console.WriteLine(JsonSerializer.Serialize(report));
            return 0;
        });

        var bench = new Command("bench", "Benchmarks (see docs/benchmarks.md).");
        bench.Subcommands.Add(train);
        bench.Subcommands.Add(BenchGenerateCommand.Create());
        bench.Subcommands.Add(BenchServeCommand.Create());
        return bench;
    }


    /// <summary>Uniformly random token windows, a pure function of (split, batch index): the benchmark's data.</summary>
    private sealed class RandomTokenSource(int vocab, int sequenceLength, int seed) : ITokenBatchSource
    {
        public int SequenceLength => sequenceLength;

        public int MaxTokenId => vocab - 1;

        public long WindowCount(DataSplit split) => 1_000_000;

        public void FillBatch(DataSplit split, long batchIndex, int batchSize, Span<long> inputs, Span<long> targets)
        {
            var rng = new Random(unchecked(seed * 1_000_003 + (int)split * 7919 + (int)batchIndex)); // HashCode is per-process random
            for (int i = 0; i < inputs.Length; i++) inputs[i] = rng.Next(vocab);
            for (int i = 0; i < targets.Length; i++) targets[i] = rng.Next(vocab);
        }
    }
}
