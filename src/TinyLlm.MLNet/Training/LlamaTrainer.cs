using System.Diagnostics;
using Microsoft.ML.Runtime;
using TinyLlm.MLNet.IO;
using TinyLlm.MLNet.Interop;
using TinyLlm.MLNet.Modeling;
using TinyLlm.MLNet.Shards;
using TinyLlm.MLNet.Tokenization;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace TinyLlm.MLNet.Training;

/// <summary>
/// llama2.c's <c>train.py</c> in C#: AdamW with decay/no-decay groups, linear warmup then cosine decay, gradient
/// accumulation, clipping, periodic evaluation and atomic checkpoints, with <c>init_from=resume</c> continuing a run
/// exactly (the data order is a pure function of the iteration) and <c>init_from=</c>a model fine-tuning it (see
/// <see cref="InitialModel"/>). The loop is one flat method; only <see cref="GetLr"/> and <see cref="EstimateLoss"/>
/// are split out, as in train.py.
/// </summary>
public sealed class LlamaTrainer
{
    /// <summary>The llama2.c v0 export written beside each checkpoint.</summary>
    public const string ExportFileName = "model.bin";

    private readonly TrainingOptions _options;
    private readonly IChannel? _channel;
    private readonly InitialModel? _initial;
    private Checkpoint? _resumeFrom; // read when the trainer is made (for the shape), used by the first Fit

    /// <summary>
    /// Creates a trainer; <paramref name="env"/> (e.g. an <c>MLContext</c>) receives the log lines on its channel. With
    /// <c>init_from</c> <c>resume</c> or a model path, the checkpoint or model is read now and <see cref="Options"/>
    /// takes its shape.
    /// </summary>
    /// <exception cref="ArgumentException">An option is out of range, or a shape option differs from the model started from (the message names it).</exception>
    /// <exception cref="FileNotFoundException">init_from=resume and there is no checkpoint.</exception>
    /// <exception cref="InvalidDataException">The checkpoint or initial model cannot be read.</exception>
    public LlamaTrainer(TrainingOptions options, IHostEnvironment? env = null)
        : this(options, null, env)
    {
    }

    /// <summary>
    /// Creates a trainer that fine-tunes <paramref name="initialModel"/> (e.g. <see cref="InitialModel.From(Microsoft.ML.ITransformer)"/>
    /// of a loaded zip): its shape, new optimizer, schedule and iteration count. <c>init_from</c> must be
    /// <c>scratch</c> (or the initial model's own path).
    /// </summary>
    /// <exception cref="ArgumentException">An option is out of range, init_from asks for something else, or a shape option differs from the model's.</exception>
    public LlamaTrainer(TrainingOptions options, InitialModel? initialModel, IHostEnvironment? env = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        if (initialModel is not null)
        {
            if (options.InitFrom == "resume" || options.InitFromModel && !SamePath(options.InitFrom, initialModel.Path))
                throw new ArgumentException($"The trainer was given {initialModel.Description} and the option InitFrom is '{options.InitFrom}': "
                    + "resume continues the run in OutDir with its own weights, optimizer and schedule, a path names another model. Give one or the other.");
            _initial = initialModel;
        }
        else if (options.InitFromModel)
        {
            if (SamePath(options.InitFrom, CheckpointPath))
                throw new ArgumentException($"The option InitFrom names the checkpoint of OutDir itself ('{options.InitFrom}'): fine-tuning would overwrite the model it starts from. "
                    + "To continue that run use InitFrom = resume; to fine-tune it, set OutDir to another folder.");
            _initial = InitialModel.Read(options.InitFrom);
        }
        else if (options.InitFrom == "resume")
        {
            if (!File.Exists(CheckpointPath))
                throw new FileNotFoundException($"InitFrom is 'resume' but there is no checkpoint at '{CheckpointPath}'; train from scratch first or point OutDir at an earlier run.", CheckpointPath);
            _resumeFrom = Checkpoint.Read(CheckpointPath);
            _options = AdoptCheckpointShape(options, _resumeFrom, CheckpointPath);
        }
        if (_initial is not null)
            _options = TrainingShape.Adopt(options, _initial.Weights.Config, (name, model, given) => new ArgumentException(TrainingShape.FineTuneConflict(_initial.Description, name, model, given)));
        _channel = env?.Start(nameof(LlamaTrainer));
    }

    private static TrainingOptions AdoptCheckpointShape(TrainingOptions options, Checkpoint checkpoint, string path) =>
        TrainingShape.Adopt(options, checkpoint.ModelArgs, (name, saved, wanted) => new InvalidDataException(TrainingShape.ResumeConflict(path, name, saved, wanted)));

    // The same file under any name (links, case on Windows): the check export uses against overwriting its inputs.
    private static bool SamePath(string a, string? b) => b is not null && SameFile.Check(a, b);

    /// <summary>The model this trainer fine-tunes, or null (scratch or resume).</summary>
    public InitialModel? InitialModel => _initial;

    /// <summary>The options this trainer runs with: those given, with the shape of the model it resumes or fine-tunes.</summary>
    public TrainingOptions Options => _options;

    /// <summary>The path of the checkpoint in <see cref="TrainingOptions.OutDir"/>; null when the run writes no files.</summary>
    public string? CheckpointPath => _options.OutDir is { } dir ? Path.Combine(dir, Checkpoint.FileName) : null;

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
    /// Trains on <paramref name="data"/> from scratch, from <c>OutDir/ckpt.bin</c> or from the initial model until
    /// iteration MaxIters.
    /// Cancelling stops at the next iteration boundary with <see cref="OperationCanceledException"/>; the last
    /// checkpoint stays as it was. With <see cref="TrainingOptions.OutDir"/> set, the run holds
    /// <c>OutDir/train.lock</c> (a second run into the same folder is refused) and writes checkpoints, metrics.csv and
    /// model.bin there; without it, it writes no file at all.
    /// </summary>
    /// <exception cref="ArgumentException">The data does not fit the options (sequence length, vocabulary), or was made with another tokenizer than the model's.</exception>
    /// <exception cref="FileNotFoundException">init_from=resume and there is no checkpoint.</exception>
    /// <exception cref="InvalidDataException">The checkpoint is damaged or of another architecture.</exception>
    /// <exception cref="InvalidOperationException">The loss became NaN or infinite (the last good checkpoint is kept), or another run holds OutDir.</exception>
    public TrainingResult Fit(ITokenBatchSource data, IProgress<TrainingProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(data);
        var o = _options;
        var tokenizer = CheckTokenizer(data);
        CheckData(data);
        Device device = DeviceSelection.ResolveDevice(o.Device);
        ScalarType computeType = DeviceSelection.ResolveDtype(o.Dtype, device);
        SetThreads(device, progress);
        // Files go to OutDir only; without one the run keeps everything in memory.
        string? outDir = o.OutDir;
        if (outDir is not null) AtomicFile.CreateFolder(outDir);
        using var outDirLock = outDir is null ? null : TrainingLock.Acquire(outDir);
        if (outDir is not null) AtomicFile.RemoveStaleTemps(outDir, Checkpoint.FileName, ExportFileName, MetricsLog.CsvName);
        string? ckptPath = CheckpointPath;
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
                throw new FileNotFoundException($"InitFrom is 'resume' but there is no checkpoint at '{ckptPath}'; train from scratch first or point OutDir at an earlier run.", ckptPath);
            resumeFrom = _resumeFrom ?? Checkpoint.Read(ckptPath);
            _resumeFrom = null;
            RepairExport(resumeFrom, outDir!);
            AdoptCheckpointShape(o, resumeFrom, ckptPath); // the same shape as when the trainer was made
            modelConfig = resumeFrom.ModelArgs with { Dropout = o.Dropout }; // all of it: norm eps, RoPE base, untied classifier
            iterNum = resumeFrom.IterNum;
            bestValLoss = resumeFrom.BestValLoss;
            Log($"resuming from {ckptPath} at iteration {iterNum} (best val loss {bestValLoss:F4})");
        }
        else if (_initial is not null)
        {
            modelConfig = _initial.Weights.Config with { Dropout = o.Dropout };
            Log($"fine-tuning {_initial.Description}: {modelConfig.ParameterCount:N0} parameters, {(modelConfig.SharedClassifier ? "tied" : "untied")} classifier, "
                + $"vocabulary {_initial.Tokenizer}; a new optimizer, learning-rate schedule and iteration count");
            if (_initial.DequantizationNote() is { } note) Log(note);
        }
        else
        {
            Log("initializing a new model from scratch");
        }

        var model = _initial?.CreateModel(o.Dropout) ?? new LlamaModel(modelConfig);
        try
        {
            if (resumeFrom is not null) resumeFrom.LoadModelState(model, $"the checkpoint '{ckptPath}'");
            if (device.type != DeviceType.CPU) model.to(device);
            model.ComputeType = computeType;
            model.UseScaledDotProductAttention = o.UseScaledDotProductAttention;
            model.train();
            Log($"model: {model.ParameterCount:N0} parameters, device {device}, compute {computeType}");

            using var optimizer = ConfigureOptimizer(model);
            if (resumeFrom is not null) LoadOptimizerState(optimizer, resumeFrom, ckptPath!);
            resumeFrom = null; // free the checkpoint's bytes

            var metrics = o.WriteMetrics && outDir is not null ? MetricsLog.Open(outDir, iterNum) : null;
            var allParameters = model.parameters().ToList();
            var losses = new List<double>();
            long firstIter = iterNum;
            string? lastCheckpoint = null;
            double flopsPerToken = FlopsPerToken(model), flopsPerIter = flopsPerToken * tokensPerIter;
            var peak = o.EvalOnly ? null : PeakFlops.For(device, computeType, o.PeakFlops);
            if (!o.EvalOnly) Setting(progress, peak is null ? $"MFU: the peak FLOP/s of {device} is unknown (set PeakFlops, --peak-flops, to report it)" : $"MFU against a peak of {peak}");
            double runningMfu = -1;
            int localIter = 0;
            var heap = new HeapTrimPolicy();
            var stopwatch = Stopwatch.StartNew();
            var loopClock = Stopwatch.StartNew(); // the whole loop, evaluations and checkpoints included

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
                    metrics?.AddEval(iterNum, iterNum * tokensPerIter, lr, trainLoss, valLoss);
                    // The rows go to disk before the checkpoint: a kill between the two leaves rows past the checkpoint,
                    // which the resumed run drops, never a checkpoint whose rows are lost.
                    metrics?.Flush();
                    progress?.Report(new TrainingProgress(TrainingEvent.Eval, iterNum, o.MaxIters, double.NaN, lr, 0, 0, runningMfu, trainLoss, valLoss));
                    if (valLoss < bestValLoss || o.AlwaysSaveCheckpoint)
                    {
                        bestValLoss = Math.Min(bestValLoss, valLoss);
                        if (o.AlwaysSaveCheckpoint) bestValLoss = valLoss;
                        if (iterNum > 0 && outDir is not null)
                        {
                            // The llama2.c v0 export first (for run.c and the inference engine, as train.py writes it),
                            // then the checkpoint, which records the export's SHA-256: a kill between the two renames
                            // leaves an export newer than the checkpoint, which a resumed run detects and rewrites.
                            string exportPath = Path.Combine(outDir, ExportFileName);
                            Llama2cCheckpoint.Write(model.ToTransformerWeights(), exportPath);
                            var checkpoint = Checkpoint.Capture(model, optimizer.save_state_dict, iterNum, bestValLoss, o, tokenizer);
                            checkpoint.ExportSha256 = Checkpoint.HashFile(exportPath);
                            checkpoint.Write(ckptPath!);
                            lastCheckpoint = ckptPath;
                            Log($"saved checkpoint to {ckptPath} and {exportPath}");
                            progress?.Report(new TrainingProgress(TrainingEvent.Checkpoint, iterNum, o.MaxIters, double.NaN, lr, 0, 0, runningMfu, CheckpointPath: ckptPath));
                        }
                    }
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
                    // flush the gradients as soon as we can, no need for this memory anymore (set_to_none, as train.py:
                    // no fill of every gradient each step; bf16 steps +6-8% in an interleaved A/B)
                    model.zero_grad(set_to_none: true);
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
                Tokens = localIter * tokensPerIter,
                Duration = loopClock.Elapsed,
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

    /// <summary>
    /// The tokenizer of the run: the data's when it is known (shard manifest, tokenizer annotation), else the model's
    /// it starts from. Data made with another tokenizer than that model's is refused: its ids would mean other pieces.
    /// </summary>
    private TokenizerFingerprint? CheckTokenizer(ITokenBatchSource data)
    {
        var dataTokenizer = data switch
        {
            TokenWindowBatchSource source => source.Tokenizer,
            TokenWindowDataView view => view.Source.Tokenizer,
            _ => null,
        };
        var (modelTokenizer, modelName) = _initial is not null ? (_initial.Tokenizer, _initial.Description)
            : (_resumeFrom?.Tokenizer, $"the checkpoint '{CheckpointPath}'");
        if (modelTokenizer is null) return dataTokenizer;
        string dataName = data is TokenShardBatchSource shards ? $"the data in '{shards.Directory}'" : "the training data";
        if (dataTokenizer is not null && modelTokenizer.Mismatch(dataTokenizer, modelName, dataName) is { } why)
            throw new ArgumentException($"{why} Tokenize the data with the model's own tokenizer (the tokenizer is part of the model).");
        if (data.MaxTokenId >= modelTokenizer.VocabSize)
            throw new ArgumentException($"The data holds token id {data.MaxTokenId}, outside the vocabulary of {modelName} (0 to {modelTokenizer.VocabSize - 1}): it was tokenized with another tokenizer. Tokenize it with the model's own.");
        return dataTokenizer?.PiecesSha256 is not null ? dataTokenizer : modelTokenizer;
    }

    private void CheckData(ITokenBatchSource data)
    {
        var o = _options;
        if (data.SequenceLength != o.MaxSeqLen)
            throw new ArgumentException($"The data windows hold {data.SequenceLength} tokens but MaxSeqLen is {o.MaxSeqLen}; build the data with the same sequence length.", nameof(o.MaxSeqLen));
        if (data.MaxTokenId >= o.VocabSize)
            throw new ArgumentException($"The data holds token id {data.MaxTokenId}, which does not fit VocabSize {o.VocabSize}: set VocabSize to at least {data.MaxTokenId + 1} (the tokenizer's vocabulary size).", nameof(o.VocabSize));
        foreach (var split in new[] { DataSplit.Train, DataSplit.Validation })
        {
            if (data.WindowCount(split) < 1)
                throw new ArgumentException($"The {split.ToString().ToLowerInvariant()} data has no window of MaxSeqLen + 1 = {o.MaxSeqLen + 1} tokens; use more data or a smaller MaxSeqLen.", nameof(o.MaxSeqLen));
        }
    }

    /// <summary>
    /// Puts back <c>model.bin</c> when it is not the export the checkpoint records (a run killed between the two
    /// renames), so the pair in OutDir is one generation again.
    /// </summary>
    private void RepairExport(Checkpoint checkpoint, string outDir)
    {
        string exportPath = Path.Combine(outDir, ExportFileName);
        if (checkpoint.ExportSha256 is null || (File.Exists(exportPath) && Checkpoint.HashFile(exportPath) == checkpoint.ExportSha256)) return;
        using var model = checkpoint.CreateModel();
        Llama2cCheckpoint.Write(model.ToTransformerWeights(), exportPath);
        Log($"{exportPath} did not match the checkpoint (a run stopped between writing the two); rewrote it from iteration {checkpoint.IterNum}");
    }

    private static InvalidOperationException Diverged(long iter, string what, double value, string? checkpoint) =>
        new($"Training diverged at iteration {iter}: {what} is {value}. "
            + (checkpoint is null ? "No checkpoint had been written yet. " : $"The last good checkpoint, '{checkpoint}', is kept. ")
            + "Lower LearningRate, keep GradClip on, or use Dtype float32.");

    private void Log(string message) => _channel?.Info(MessageSensitivity.None, "{0}", message);

    // A choice about how the run goes: to the log and, as a Setting report, to the progress.
    private void Setting(IProgress<TrainingProgress>? progress, string message)
    {
        Log(message);
        progress?.Report(new TrainingProgress(TrainingEvent.Setting, 0, _options.MaxIters, double.NaN, double.NaN, 0, 0, -1, Message: message));
    }
}
