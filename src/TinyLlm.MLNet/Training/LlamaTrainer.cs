using System.Diagnostics;
using Microsoft.ML.Runtime;
using TinyLlm.MLNet.Engine;
using TinyLlm.MLNet.Interop;
using TinyLlm.MLNet.Modeling;
using TinyLlm.MLNet.Shards;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace TinyLlm.MLNet.Training;

/// <summary>
/// llama2.c's <c>train.py</c> in C#: AdamW with decay/no-decay groups, linear warmup then cosine decay, gradient
/// accumulation, clipping, periodic evaluation and atomic checkpoints, with <c>init_from=resume</c> continuing a run
/// exactly (the data order is a pure function of the iteration). The loop is one flat method; only
/// <see cref="GetLr"/> and <see cref="EstimateLoss"/> are split out, as in train.py.
/// </summary>
public sealed class LlamaTrainer
{
    /// <summary>The llama2.c v0 export written beside each checkpoint.</summary>
    public const string ExportFileName = "model.bin";

    private readonly TrainingOptions _options;
    private readonly IChannel? _channel;

    /// <summary>Creates a trainer; <paramref name="env"/> (e.g. an <c>MLContext</c>) receives the log lines on its channel.</summary>
    /// <exception cref="ArgumentException">An option is out of range (the message names it).</exception>
    public LlamaTrainer(TrainingOptions options, IHostEnvironment? env = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        _channel = env?.Start(nameof(LlamaTrainer));
    }

    /// <summary>The options this trainer runs with.</summary>
    public TrainingOptions Options => _options;

    /// <summary>The path of the checkpoint in <c>out_dir</c>.</summary>
    public string CheckpointPath => Path.Combine(_options.OutDir, Checkpoint.FileName);

    /// <summary>
    /// Learning rate of iteration <paramref name="it"/>: 1) linear warmup from 0, 2) <c>min_lr</c> after
    /// <c>lr_decay_iters</c>, 3) cosine decay from <c>learning_rate</c> to <c>min_lr</c> in between.
    /// </summary>
    public double GetLr(long it)
    {
        var o = _options;
        if (!o.DecayLr) return o.LearningRate;
        long decayIters = o.LrDecayIters ?? o.MaxIters;
        // 1) linear warmup for warmup_iters steps
        if (it < o.WarmupIters) return o.LearningRate * it / o.WarmupIters;
        // 2) if it > lr_decay_iters, return min learning rate
        if (it > decayIters) return o.MinLr;
        // 3) in between, use cosine decay down to min learning rate
        if (decayIters == o.WarmupIters) return o.LearningRate;
        double decayRatio = (double)(it - o.WarmupIters) / (decayIters - o.WarmupIters);
        double coeff = 0.5 * (1.0 + Math.Cos(Math.PI * decayRatio)); // 1 -> 0
        return o.MinLr + coeff * (o.LearningRate - o.MinLr);
    }

    /// <summary>
    /// Mean loss over batches 0..eval_iters-1 of each split (the same batches at every evaluation, as train.py's
    /// fresh iterators give), under <c>no_grad</c> and eval mode.
    /// </summary>
    public (double Train, double Val) EstimateLoss(LlamaModel model, ITokenBatchSource data)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(data);
        bool wasTraining = model.training;
        model.eval();
        try
        {
            using var noGrad = torch.no_grad();
            double Mean(DataSplit split)
            {
                double sum = 0;
                for (int k = 0; k < _options.EvalIters; k++)
                {
                    using var scope = torch.NewDisposeScope();
                    var (x, y) = Batch(data, split, k, model.Device);
                    sum += LlamaModel.Loss(model.forward(x), y).item<float>();
                }
                return sum / _options.EvalIters;
            }
            return (Mean(DataSplit.Train), Mean(DataSplit.Validation));
        }
        finally
        {
            model.train(wasTraining);
        }
    }

    /// <summary>
    /// Trains on <paramref name="data"/> from scratch or from <c>out_dir/ckpt.bin</c> until iteration max_iters.
    /// Cancelling stops at the next iteration boundary with <see cref="OperationCanceledException"/>; the last
    /// checkpoint stays as it was.
    /// </summary>
    /// <exception cref="ArgumentException">The data does not fit the options (sequence length, vocabulary).</exception>
    /// <exception cref="FileNotFoundException">init_from=resume and there is no checkpoint.</exception>
    /// <exception cref="InvalidDataException">The checkpoint is damaged or of another architecture.</exception>
    /// <exception cref="InvalidOperationException">The loss became NaN or infinite; the last good checkpoint is kept.</exception>
    public TrainingResult Fit(ITokenBatchSource data, IProgress<TrainingProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(data);
        var o = _options;
        CheckData(data);
        Device device = DeviceSelection.ResolveDevice(o.Device);
        ScalarType computeType = DeviceSelection.ResolveDtype(o.Dtype, device);
        SetThreads(device, progress);
        Directory.CreateDirectory(o.OutDir);
        string ckptPath = CheckpointPath;
        long tokensPerIter = (long)o.GradientAccumulationSteps * o.BatchSize * o.MaxSeqLen;
        Log($"tokens per iteration will be: {tokensPerIter:N0} ({o.GradientAccumulationSteps} grad accum steps * {o.BatchSize} batch size * {o.MaxSeqLen} max seq len)");

        // -------------------------------------------------------------------- model and optimizer
        torch.manual_seed(o.Seed);
        long iterNum = 0;
        double bestValLoss = 1e9;
        Checkpoint? resumeFrom = null;
        var modelConfig = o.ToModelConfig();
        if (o.InitFrom == "resume")
        {
            if (!File.Exists(ckptPath))
                throw new FileNotFoundException($"init_from is 'resume' but there is no checkpoint at '{ckptPath}'; train from scratch first or point out_dir at an earlier run.", ckptPath);
            resumeFrom = Checkpoint.Read(ckptPath);
            CheckSameArchitecture(resumeFrom.ModelArgs, modelConfig, ckptPath);
            iterNum = resumeFrom.IterNum;
            bestValLoss = resumeFrom.BestValLoss;
            Log($"resuming from {ckptPath} at iteration {iterNum} (best val loss {bestValLoss:F4})");
        }
        else
        {
            Log("initializing a new model from scratch");
        }

        var model = new LlamaModel(modelConfig);
        try
        {
            if (resumeFrom is not null) resumeFrom.LoadModelState(model, $"the checkpoint '{ckptPath}'");
            if (device.type != DeviceType.CPU) model.to(device);
            model.ComputeType = computeType;
            model.UseScaledDotProductAttention = o.UseScaledDotProductAttention;
            model.train();
            Log($"model: {model.ParameterCount:N0} parameters, device {device}, compute {computeType}");

            using var optimizer = ConfigureOptimizer(model);
            if (resumeFrom is not null) LoadOptimizerState(optimizer, resumeFrom, ckptPath);
            resumeFrom = null; // free the checkpoint's bytes

            var metrics = o.WriteMetrics ? MetricsLog.Open(o.OutDir, iterNum) : null;
            var allParameters = model.parameters().ToList();
            var losses = new List<double>();
            long firstIter = iterNum;
            string? lastCheckpoint = null;
            double flopsPerToken = FlopsPerToken(model), flopsPerIter = flopsPerToken * tokensPerIter;
            var peak = o.EvalOnly ? null : PeakFlops.For(device, computeType, o.PeakFlops);
            if (!o.EvalOnly) Setting(progress, peak is null ? $"MFU: the peak FLOP/s of {device} is unknown (set peak_flops to report it)" : $"MFU against a peak of {peak}");
            double runningMfu = -1;
            int localIter = 0;
            var heap = new HeapTrimPolicy();
            var stopwatch = Stopwatch.StartNew();

            // -------------------------------------------------------------------- training loop
            while (true)
            {
                cancellationToken.ThrowIfCancellationRequested();

                // determine and set the learning rate for this iteration
                double lr = GetLr(iterNum);
                foreach (var group in optimizer.ParamGroups) group.LearningRate = lr;

                // evaluate the loss on train/val sets and write checkpoints
                if (iterNum % o.EvalInterval == 0)
                {
                    var (trainLoss, valLoss) = EstimateLoss(model, data);
                    Log($"step {iterNum}: train loss {trainLoss:F4}, val loss {valLoss:F4}");
                    if (!double.IsFinite(trainLoss) || !double.IsFinite(valLoss))
                        throw Diverged(iterNum, "the evaluated loss", double.IsFinite(trainLoss) ? valLoss : trainLoss, lastCheckpoint ?? (File.Exists(ckptPath) ? ckptPath : null));
                    progress?.Report(new TrainingProgress(TrainingEvent.Eval, iterNum, o.MaxIters, double.NaN, lr, 0, 0, runningMfu, trainLoss, valLoss));
                    metrics?.AddEval(iterNum, iterNum * tokensPerIter, lr, trainLoss, valLoss);
                    if (valLoss < bestValLoss || o.AlwaysSaveCheckpoint)
                    {
                        bestValLoss = Math.Min(bestValLoss, valLoss);
                        if (o.AlwaysSaveCheckpoint) bestValLoss = valLoss;
                        if (iterNum > 0)
                        {
                            Checkpoint.Capture(model, optimizer.save_state_dict, iterNum, bestValLoss, o).Write(ckptPath);
                            lastCheckpoint = ckptPath;
                            // and the weights in llama2.c's v0 layout, for run.c and the inference engine (as train.py does)
                            string exportPath = Path.Combine(o.OutDir, ExportFileName);
                            Llama2cCheckpoint.Write(model.ToTransformerWeights(), exportPath);
                            Log($"saved checkpoint to {ckptPath} and {exportPath}");
                            progress?.Report(new TrainingProgress(TrainingEvent.Checkpoint, iterNum, o.MaxIters, double.NaN, lr, 0, 0, runningMfu, CheckpointPath: ckptPath));
                        }
                    }
                    metrics?.Flush();
                    stopwatch.Restart(); // the step time excludes evaluation
                }
                if (o.EvalOnly) break;

                // forward backward update, with gradient accumulation to simulate a larger batch
                double loss;
                using (var scope = torch.NewDisposeScope())
                {
                    // dropout draws from the global generator: seed it per iteration so a resumed run draws the same masks
                    if (o.Dropout > 0) torch.manual_seed(o.Seed + iterNum);
                    Tensor? lossSum = null;
                    for (int micro = 0; micro < o.GradientAccumulationSteps; micro++)
                    {
                        var (x, y) = Batch(data, DataSplit.Train, iterNum * o.GradientAccumulationSteps + micro, device);
                        var microLoss = LlamaModel.Loss(model.forward(x), y) / o.GradientAccumulationSteps;
                        microLoss.backward();
                        var detached = microLoss.detach();
                        lossSum = lossSum is null ? detached : lossSum + detached;
                    }
                    // clip the gradient
                    if (o.GradClip != 0.0) nn.utils.clip_grad_norm_(allParameters, o.GradClip);
                    optimizer.step();
                    // flush the gradients as soon as we can, no need for this memory anymore
                    optimizer.zero_grad();
                    // the loss to the CPU: a sync point on CUDA, needed every step to stop on NaN before a bad checkpoint
                    loss = lossSum!.item<float>();
                }
                heap.AfterStep();
                if (!double.IsFinite(loss))
                    throw Diverged(iterNum, "the training loss", loss, lastCheckpoint ?? (File.Exists(ckptPath) ? ckptPath : null));
                losses.Add(loss);

                // timing and logging
                double dt = stopwatch.Elapsed.TotalSeconds;
                stopwatch.Restart();
                double flops = flopsPerIter / dt;
                if (localIter >= 5 && peak is not null)
                {
                    double mfu = flops / peak.FlopsPerSecond;
                    runningMfu = runningMfu < 0 ? mfu : 0.9 * runningMfu + 0.1 * mfu;
                }
                if (iterNum % o.LogInterval == 0)
                {
                    double tokensPerSecond = tokensPerIter / dt;
                    string mfuText = runningMfu < 0 ? "" : $" | mfu {runningMfu * 100:F2}%";
                    Log($"{iterNum} | loss {loss:F4} | lr {lr:E3} | {dt * 1000:F2}ms | {tokensPerSecond:F0} tok/s | {PeakFlops.Format(flops)}{mfuText}");
                    progress?.Report(new TrainingProgress(TrainingEvent.Step, iterNum, o.MaxIters, loss, lr, dt * 1000, tokensPerSecond, runningMfu,
                        FlopsPerSecond: flops));
                    metrics?.AddStep(iterNum, (iterNum + 1) * tokensPerIter, lr, loss, dt * 1000, tokensPerSecond, runningMfu);
                }
                iterNum++;
                localIter++;

                // termination conditions
                if (iterNum > o.MaxIters) break;
            }
            metrics?.Flush();

            return new TrainingResult
            {
                Model = model,
                IterNum = iterNum,
                BestValLoss = bestValLoss,
                CheckpointPath = lastCheckpoint,
                Losses = losses,
                FirstIter = firstIter,
                Peak = peak,
                FlopsPerToken = flopsPerToken,
            };
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>
    /// AdamW with two parameter groups, as model.py's <c>configure_optimizers</c>: every matrix (the embedding
    /// included) is decayed, the norm gains and other vectors are not.
    /// </summary>
    private AdamW ConfigureOptimizer(LlamaModel model)
    {
        var o = _options;
        var parameters = model.parameters().ToList();
        var decay = parameters.Where(p => p.dim() >= 2).ToList();
        var noDecay = parameters.Where(p => p.dim() < 2).ToList();
        var groups = new List<AdamW.ParamGroup>
        {
            new(decay, new AdamW.Options { weight_decay = o.WeightDecay }),
            new(noDecay, new AdamW.Options { weight_decay = 0.0 }),
        };
        Log($"num decayed parameter tensors: {decay.Count}, with {decay.Sum(p => p.numel()):N0} parameters; non-decayed: {noDecay.Count}, with {noDecay.Sum(p => p.numel()):N0}");
        return torch.optim.AdamW(groups, lr: o.LearningRate, beta1: o.Beta1, beta2: o.Beta2, eps: 1e-8, weight_decay: o.WeightDecay);
    }

    /// <summary>
    /// libtorch's intra-op threads on the CPU (the threads option, else libtorch's one per core) and how its OpenMP
    /// workers wait (<see cref="OpenMpWaitPolicy"/>), logged as a setting.
    /// </summary>
    private void SetThreads(Device device, IProgress<TrainingProgress>? progress)
    {
        if (device.type != DeviceType.CPU) return;
        if (_options.Threads > 0) torch.set_num_threads(_options.Threads);
        string count = _options.Threads > 0 ? "set by the threads option" : "libtorch's default";
        Setting(progress, $"CPU threads: {torch.get_num_threads()} ({count}); OpenMP workers wait {OpenMpWaitPolicy.Description ?? "as OpenMP's default"}");
    }

    /// <summary>Restores the optimizer's moments from a checkpoint, so a resumed run continues exactly.</summary>
    private static void LoadOptimizerState(AdamW optimizer, Checkpoint checkpoint, string path)
    {
        if (checkpoint.OptimizerState.Length == 0) return;
        using var reader = new BinaryReader(new MemoryStream(checkpoint.OptimizerState, writable: false));
        try
        {
            optimizer.load_state_dict(reader);
        }
        catch (Exception e) when (e is ArgumentException or InvalidDataException or EndOfStreamException)
        {
            throw new InvalidDataException($"The optimizer state in the checkpoint '{path}' does not fit this model: {e.Message}", e);
        }
    }

    /// <summary>FLOPs per trained token (PaLM appendix B, as llama2.c): 6N + 12 L H Q T.</summary>
    private static double FlopsPerToken(LlamaModel model)
    {
        var c = model.Config;
        return 6.0 * model.ParameterCount + 12.0 * c.NLayers * c.NHeads * c.HeadDim * c.MaxSeqLen;
    }

    /// <summary>Batch <paramref name="index"/> of <paramref name="split"/> as int64 tensors on <paramref name="device"/>.</summary>
    private (Tensor X, Tensor Y) Batch(ITokenBatchSource data, DataSplit split, long index, Device device)
    {
        int b = _options.BatchSize, t = data.SequenceLength;
        var inputs = new long[b * t];
        var targets = new long[b * t];
        data.FillBatch(split, index, b, inputs, targets);
        var x = torch.tensor(inputs, [b, t]);
        var y = torch.tensor(targets, [b, t]);
        return device.type == DeviceType.CPU ? (x, y) : (x.to(device), y.to(device));
    }

    private void CheckData(ITokenBatchSource data)
    {
        var o = _options;
        if (data.SequenceLength != o.MaxSeqLen)
            throw new ArgumentException($"The data windows hold {data.SequenceLength} tokens but the option max_seq_len is {o.MaxSeqLen}; build the data with the same sequence length.");
        if (data.MaxTokenId >= o.VocabSize)
            throw new ArgumentException($"The data holds token id {data.MaxTokenId}, which does not fit the option vocab_size {o.VocabSize}: set vocab_size to at least {data.MaxTokenId + 1} (the tokenizer's vocabulary size).");
        foreach (var split in new[] { DataSplit.Train, DataSplit.Validation })
        {
            if (data.WindowCount(split) < 1)
                throw new ArgumentException($"The {split.ToString().ToLowerInvariant()} data has no window of max_seq_len + 1 = {o.MaxSeqLen + 1} tokens; use more data or a smaller max_seq_len.");
        }
    }

    private static void CheckSameArchitecture(LlamaConfig saved, LlamaConfig wanted, string path)
    {
        void Same<T>(string name, T a, T b)
        {
            if (!EqualityComparer<T>.Default.Equals(a, b))
                throw new InvalidDataException($"The checkpoint '{path}' was trained with {name} {a} but the options ask for {name} {b}; resume with the checkpoint's architecture or train from scratch.");
        }
        Same("dim", saved.Dim, wanted.Dim);
        Same("n_layers", saved.NLayers, wanted.NLayers);
        Same("n_heads", saved.NHeads, wanted.NHeads);
        Same("n_kv_heads", saved.NKvHeads, wanted.NKvHeads);
        Same("vocab_size", saved.VocabSize, wanted.VocabSize);
        Same("multiple_of", saved.MultipleOf, wanted.MultipleOf);
        Same("hidden_dim", saved.FeedForwardDim, wanted.FeedForwardDim);
        Same("max_seq_len", saved.MaxSeqLen, wanted.MaxSeqLen);
    }

    private static InvalidOperationException Diverged(long iter, string what, double value, string? checkpoint) =>
        new($"Training diverged at iteration {iter}: {what} is {value}. "
            + (checkpoint is null ? "No checkpoint had been written yet. " : $"The last good checkpoint, '{checkpoint}', is kept. ")
            + "Lower learning_rate, keep grad_clip on, or use float32.");

    private void Log(string message) => _channel?.Info(MessageSensitivity.None, "{0}", message);

    // A choice about how the run goes: to the log and, as a Setting report, to the progress.
    private void Setting(IProgress<TrainingProgress>? progress, string message)
    {
        Log(message);
        progress?.Report(new TrainingProgress(TrainingEvent.Setting, 0, _options.MaxIters, double.NaN, double.NaN, 0, 0, -1, Message: message));
    }
}
