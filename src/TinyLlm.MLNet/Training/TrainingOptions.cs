using System.Text.Json.Serialization;
using TinyLlm.MLNet.Engine;

namespace TinyLlm.MLNet.Training;

/// <summary>
/// Every setting of llama2.c's <c>train.py</c>, with the tutorial's defaults (vocabulary 4096 and the seed model
/// 288/8/8/4). Field names follow ML.NET's Options classes; the JSON names (stored in each checkpoint's
/// <c>config</c>) are train.py's.
/// </summary>
/// <remarks>
/// The defaults are the tutorial's GPU run: <see cref="MaxIters"/> 100,000 steps of <see cref="GradientAccumulationSteps"/> 4
/// x <see cref="BatchSize"/> 128 x <see cref="MaxSeqLen"/> 256 tokens, 13.1 billion tokens in all. At the ~2,000 tokens/s a
/// 2-core CPU trains the seed model (docs/benchmarks.md) that is about 75 days, and hours on one GPU. For a CPU, set
/// a smaller model and run (the quickstart trains dim 128, 4 layers, batch 16 for 5 minutes) or a time budget through
/// the <c>CancellationToken</c> of <see cref="LlamaTrainer.Fit"/>. The library writes no file unless
/// <see cref="OutDir"/> is set; <c>tinyllm train</c> writes into <c>out/</c> as train.py does.
/// </remarks>
public sealed class TrainingOptions
{
    // I/O
    /// <summary>
    /// Folder for the checkpoint (<c>ckpt.bin</c>), the llama2.c export (<c>model.bin</c>) and <c>metrics.csv</c>; the run
    /// holds <c>train.lock</c> in it. Null (the default) writes nothing: the model stays in memory.
    /// </summary>
    [JsonPropertyName("out_dir")] public string? OutDir;
    /// <summary>Evaluate (and maybe checkpoint) every this many iterations.</summary>
    [JsonPropertyName("eval_interval")] public int EvalInterval = 2000;
    /// <summary>Report the training loss every this many iterations.</summary>
    [JsonPropertyName("log_interval")] public int LogInterval = 1;
    /// <summary>Batches per split averaged by each evaluation.</summary>
    [JsonPropertyName("eval_iters")] public int EvalIters = 100;
    /// <summary>Evaluate once and stop.</summary>
    [JsonPropertyName("eval_only")] public bool EvalOnly;
    /// <summary>Write a checkpoint at every evaluation, not only when the validation loss improves.</summary>
    [JsonPropertyName("always_save_checkpoint")] public bool AlwaysSaveCheckpoint;
    /// <summary>
    /// <c>scratch</c> (a new model), <c>resume</c> (continue the run of <c>out_dir/ckpt.bin</c>: its weights, optimizer,
    /// iteration and schedule), or the path of a model to fine-tune (see <see cref="InitialModel.Read"/>: an ML.NET
    /// zip, a checkpoint, a llama2.c file, a Hugging Face folder or a GGUF file), which starts a new optimizer, schedule and
    /// iteration count. Resuming and fine-tuning take the model's shape: shape options left at their defaults take
    /// its values, any other value must be its own.
    /// </summary>
    [JsonPropertyName("init_from")] public string InitFrom = "scratch";

    // data
    /// <summary>Sequences per micro-batch (the batch of one forward/backward).</summary>
    [JsonPropertyName("batch_size")] public int BatchSize = 128;
    /// <summary>Context length: tokens per training sequence.</summary>
    [JsonPropertyName("max_seq_len")] public int MaxSeqLen = LlamaConfig.Seed.MaxSeqLen;
    /// <summary>Size of the model's vocabulary; every token id in the data must be below it.</summary>
    [JsonPropertyName("vocab_size")] public int VocabSize = LlamaConfig.Seed.VocabSize;

    // model
    /// <summary>Model width.</summary>
    [JsonPropertyName("dim")] public int Dim = LlamaConfig.Seed.Dim;
    /// <summary>Number of transformer blocks.</summary>
    [JsonPropertyName("n_layers")] public int NLayers = LlamaConfig.Seed.NLayers;
    /// <summary>Number of query heads.</summary>
    [JsonPropertyName("n_heads")] public int NHeads = LlamaConfig.Seed.NHeads;
    /// <summary>Number of key/value heads.</summary>
    [JsonPropertyName("n_kv_heads")] public int NKvHeads = LlamaConfig.Seed.NKvHeads;
    /// <summary>SwiGLU hidden size rounding.</summary>
    [JsonPropertyName("multiple_of")] public int MultipleOf = LlamaConfig.Seed.MultipleOf;
    /// <summary>Dropout probability (0 for pretraining, as the tutorial).</summary>
    [JsonPropertyName("dropout")] public double Dropout;

    // adamw optimizer
    /// <summary>Micro-batches whose gradients are summed into one optimizer step.</summary>
    [JsonPropertyName("gradient_accumulation_steps")] public int GradientAccumulationSteps = 4;
    /// <summary>Peak learning rate.</summary>
    [JsonPropertyName("learning_rate")] public double LearningRate = 5e-4;
    /// <summary>Total optimizer steps; iterations 0..max_iters run, as in train.py.</summary>
    [JsonPropertyName("max_iters")] public int MaxIters = 100000;
    /// <summary>AdamW decoupled weight decay on matrices (tensors with 2+ dimensions); vectors are not decayed.</summary>
    [JsonPropertyName("weight_decay")] public double WeightDecay = 1e-1;
    /// <summary>AdamW first-moment decay.</summary>
    [JsonPropertyName("beta1")] public double Beta1 = 0.9;
    /// <summary>AdamW second-moment decay.</summary>
    [JsonPropertyName("beta2")] public double Beta2 = 0.95;
    /// <summary>Clip the global gradient norm to this value; 0 disables clipping.</summary>
    [JsonPropertyName("grad_clip")] public double GradClip = 1.0;

    // learning rate decay settings
    /// <summary>Use warmup + cosine decay; false keeps the learning rate constant.</summary>
    [JsonPropertyName("decay_lr")] public bool DecayLr = true;
    /// <summary>Iterations of linear warmup from 0.</summary>
    [JsonPropertyName("warmup_iters")] public int WarmupIters = 1000;
    /// <summary>Iteration at which the cosine reaches <see cref="MinLr"/>; null means <see cref="MaxIters"/>.</summary>
    [JsonPropertyName("lr_decay_iters")] public int? LrDecayIters;
    /// <summary>Learning rate at and after <see cref="LrDecayIters"/>.</summary>
    [JsonPropertyName("min_lr")] public double MinLr;

    // system
    /// <summary><c>auto</c> (CUDA when available, else the CPU), <c>cpu</c>, <c>cuda</c> or <c>cuda:N</c>.</summary>
    [JsonPropertyName("device")] public string Device = "auto";
    /// <summary><c>auto</c> (bfloat16 on CUDA, float32 on the CPU), <c>float32</c> or <c>bfloat16</c> (bf16 compute, fp32 weights and optimizer).</summary>
    [JsonPropertyName("dtype")] public string Dtype = "auto";
    /// <summary>Seed of the initialization, dropout and (through the data source) the data order.</summary>
    [JsonPropertyName("seed")] public int Seed = 1337;
    /// <summary>Attention through libtorch's fused scaled_dot_product_attention (faster) rather than the explicit formula.</summary>
    [JsonPropertyName("sdpa")] public bool UseScaledDotProductAttention = true;
    /// <summary>Write <c>metrics.csv</c> into <see cref="OutDir"/>, rewritten at each evaluation (<c>tinyllm train</c> also draws <c>loss.png</c> from it).</summary>
    [JsonPropertyName("write_metrics")] public bool WriteMetrics = true;
    /// <summary>
    /// libtorch's intra-op threads on the CPU; 0 keeps libtorch's default (one per core). How the threads wait for each
    /// other, which decides how training copes with other programs on the CPU, is <see cref="OpenMpWaitPolicy"/>.
    /// </summary>
    [JsonPropertyName("threads")] public int Threads;
    /// <summary>
    /// The device's peak FLOP/s that MFU is measured against; null: a known GPU's data-sheet figure, or on the CPU a
    /// matrix product measured at start-up (see <see cref="PeakFlops"/>).
    /// </summary>
    [JsonPropertyName("peak_flops")] public double? PeakFlops;

    /// <summary>Whether <see cref="InitFrom"/> names a model to fine-tune (neither <c>scratch</c> nor <c>resume</c>).</summary>
    [JsonIgnore] public bool InitFromModel => InitFrom is not ("scratch" or "resume");

    /// <summary>A copy of every option.</summary>
    public TrainingOptions Clone() => (TrainingOptions)MemberwiseClone();

    /// <summary>The model these options describe.</summary>
    public LlamaConfig ToModelConfig() => new()
    {
        Dim = Dim, NLayers = NLayers, NHeads = NHeads, NKvHeads = NKvHeads, VocabSize = VocabSize,
        MultipleOf = MultipleOf, MaxSeqLen = MaxSeqLen, Dropout = Dropout,
    };

    /// <summary>Throws <see cref="ArgumentException"/> naming the first option out of range (by its C# name).</summary>
    public void Validate()
    {
        static void AtLeast(long value, long min, string name)
        {
            if (value < min) throw new ArgumentOutOfRangeException(name, $"{name} must be at least {min}; it is {value}.");
        }
        static void Finite(double value, double min, string name)
        {
            if (!double.IsFinite(value) || value < min) throw new ArgumentOutOfRangeException(name, $"{name} must be a finite number >= {min}; it is {value}.");
        }
        if (OutDir is not null && string.IsNullOrWhiteSpace(OutDir))
            throw new ArgumentException("OutDir must name a folder, or be null to write no files.", nameof(OutDir));
        AtLeast(EvalInterval, 1, nameof(EvalInterval));
        AtLeast(LogInterval, 1, nameof(LogInterval));
        AtLeast(EvalIters, 1, nameof(EvalIters));
        if (InitFrom is not ("scratch" or "resume") && !File.Exists(InitFrom) && !Directory.Exists(InitFrom))
            throw new ArgumentException($"InitFrom must be 'scratch', 'resume' or the path of a model to fine-tune; it is '{InitFrom}', and there is no such file or folder.", nameof(InitFrom));
        if (InitFrom == "resume" && OutDir is null)
            throw new ArgumentException("InitFrom 'resume' continues from OutDir/ckpt.bin: set OutDir to the folder of the earlier run.", nameof(InitFrom));
        AtLeast(BatchSize, 1, nameof(BatchSize));
        AtLeast(GradientAccumulationSteps, 1, nameof(GradientAccumulationSteps));
        AtLeast(MaxIters, 0, nameof(MaxIters));
        AtLeast(WarmupIters, 0, nameof(WarmupIters));
        AtLeast(Threads, 0, nameof(Threads));
        if (PeakFlops is double peak && !(double.IsFinite(peak) && peak > 0))
            throw new ArgumentOutOfRangeException(nameof(PeakFlops), $"PeakFlops must be a positive number of FLOP/s; it is {peak}.");
        if (LrDecayIters is int d) AtLeast(d, 0, nameof(LrDecayIters));
        Finite(LearningRate, 0, nameof(LearningRate));
        Finite(MinLr, 0, nameof(MinLr));
        Finite(WeightDecay, 0, nameof(WeightDecay));
        Finite(GradClip, 0, nameof(GradClip));
        if (!(Beta1 >= 0 && Beta1 < 1)) throw new ArgumentOutOfRangeException(nameof(Beta1), $"Beta1 must be in [0, 1); it is {Beta1}.");
        if (!(Beta2 >= 0 && Beta2 < 1)) throw new ArgumentOutOfRangeException(nameof(Beta2), $"Beta2 must be in [0, 1); it is {Beta2}.");
        ToModelConfig().Validate();
        DeviceSelection.ResolveDevice(Device);
        DeviceSelection.ResolveDtype(Dtype, DeviceSelection.ResolveDevice(Device));
    }
}
