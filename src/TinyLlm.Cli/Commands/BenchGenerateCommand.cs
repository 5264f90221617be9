using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;
using TinyLlm.MLNet.Decoding;
using TinyLlm.MLNet.Engine;
using TinyLlm.MLNet.Generation;
using TinyLlm.MLNet.Interop;
using TinyLlm.MLNet.Modeling;
using TinyLlm.MLNet.Tokenization;
using TorchSharp;
using PieceType = TinyLlm.MLNet.Tokenization.Proto.ModelProto.Types.SentencePiece.Types.Type;

namespace TinyLlm.Cli.Commands;

/// <summary>
/// <c>tinyllm bench generate</c>: batch-1 greedy decoding tokens/s and peak memory of a random model, one JSON line
/// (bench/generate-bench.sh runs it beside the PyTorch reference, one process per measurement).
/// </summary>
internal static class BenchGenerateCommand
{
    public static Command Create()
    {
        var shape = new BenchModelShape();
        var tokens = new Option<int>("--tokens") { Description = "Positions to decode (BOS first), at most --seq-len.", DefaultValueFactory = _ => 256 };
        var mode = new Option<string>("--mode") { Description = "cached (KV cache, on --backend) or uncached (the tutorial's loop: the whole sequence through the TorchSharp model at every step).", DefaultValueFactory = _ => "cached" };
        var backend = new Option<string>("--backend") { Description = "Cached mode: engine (TinyLlm's .NET engine) or torch (the TorchSharp model with its KV cache, on the CPU).", DefaultValueFactory = _ => "engine" };
        var threads = new Option<int>("--threads") { Description = "libtorch intra-op threads (torch backend and uncached mode).", DefaultValueFactory = _ => Environment.ProcessorCount };
        var modelOut = new Option<FileInfo?>("--model-out") { Description = "Also write the random model as a llama2.c v0 file (for the reference)." };
        var ggufOut = new Option<FileInfo?>("--gguf-out") { Description = "Also write the random model as an F32 GGUF file, with a placeholder vocabulary of its size (for llama.cpp)." };
        var weightFormat = WeightFormatOption.Create();
        var checkpoint = new Option<FileInfo?>("--checkpoint") { Description = "Decode this model file (llama2.c v0/v1/v2, a Hugging Face folder, a GGUF file) instead of a random model (cached mode)." };
        var repeats = new Option<int>("--repeats") { Description = "Measured runs in this process; the fastest is reported as tokens_per_s (warm: the JIT has compiled the hot code fully by then) and the first as first_run_tokens_per_s (what a one-off run sees).", DefaultValueFactory = _ => 3 };

        var command = new Command("generate", "Measure batch-1 greedy decoding tokens/s and peak memory of a random model; prints one JSON line.");
        shape.AddTo(command);
        foreach (var o in new Option[] { tokens, mode, backend, threads, modelOut, ggufOut, repeats, weightFormat, checkpoint })
            command.Options.Add(o);
        command.SetAction(parse =>
        {
            string m = parse.GetValue(mode)!;
            if (m is not ("cached" or "uncached")) throw new ArgumentException($"--mode must be cached or uncached; it was '{m}'.");
            string b = parse.GetValue(backend)!;
            if (b is not ("engine" or "torch")) throw new ArgumentException($"--backend must be engine or torch; it was '{b}'.");
            bool torchCached = m == "cached" && b == "torch";
            int n = parse.GetValue(tokens);
            var format = WeightFormatOption.Parse(parse.GetValue(weightFormat));
            var file = parse.GetValue(checkpoint);
            if (file is not null && m != "cached") throw new ArgumentException("--checkpoint works with --mode cached only (the uncached mode runs the TorchSharp model).");
            if (file is not null && torchCached) throw new ArgumentException("--checkpoint works with --backend engine only (the torch backend decodes the random TorchSharp model).");
            var config = shape.Read(parse);
            int seqLen = file is null ? config.MaxSeqLen : 0;
            // a model file is decoded without loading libtorch, so the peak memory is the engine's alone
            using var model = file is null ? RandomModel(config, parse.GetValue(threads)) : null;
            var loaded = file is null ? model!.ToTransformerWeights() : GenerationModelLoader.ReadWeights(file.FullName);
            if (file is not null) seqLen = loaded.Config.MaxSeqLen;
            if (n < 1 || n > seqLen) throw new ArgumentException($"--tokens must be between 1 and the context length ({seqLen}); it was {n}.");
            if (parse.GetValue(modelOut) is { } outFile) Llama2cCheckpoint.Write(loaded, outFile.FullName);
            if (parse.GetValue(ggufOut) is { } ggufFile) GgufLlama.Write(loaded, PlaceholderVocabulary(loaded.Config.VocabSize), ggufFile.FullName, GgmlType.F32);
            var weights = WeightFormatOption.Apply(loaded, format);
            loaded = null; // a converted copy is all the engine needs
            GC.Collect();

            double best = double.MaxValue, first = 0;
            int[] generated = [];
            for (int r = 0; r < Math.Max(1, parse.GetValue(repeats)); r++)
            {
                var clock = Stopwatch.StartNew();
                if (torchCached)
                {
                    using var decoder = new TorchSharpDecoder(model!);
                    generated = Cached(decoder, n);
                }
                else
                {
                    generated = m == "cached" ? Cached(new InferenceEngine(weights), n) : Uncached(model!, n);
                }
                best = Math.Min(best, clock.Elapsed.TotalSeconds);
                if (r == 0) first = clock.Elapsed.TotalSeconds;
            }
            var report = new
            {
                impl = torchCached ? "tinyllm-torchsharp-cached" : m == "cached" ? "tinyllm-engine" : "tinyllm-torchsharp-uncached",
                weights = torchCached ? "Float32 (TorchSharp)" : weights.Format.ToString() + (weights.GroupSize > 0 ? $" (groups of {weights.GroupSize})" : ""),
                weight_mb = weights.StorageBytes / (1024.0 * 1024.0),
                tokens = n,
                tokens_per_s = n / best,
                first_run_tokens_per_s = n / first,
                runs = Math.Max(1, parse.GetValue(repeats)),
                threads = m == "cached" && !torchCached ? Environment.ProcessorCount : torch.get_num_threads(),
                peak_rss_mb = Process.GetCurrentProcess().PeakWorkingSet64 / (1024.0 * 1024.0),
                rss_mb = Process.GetCurrentProcess().WorkingSet64 / (1024.0 * 1024.0),
                last_tokens = generated.TakeLast(8),
            };
            Console.WriteLine(JsonSerializer.Serialize(report));
            return 0;
        });
        return command;
    }

    // The text does not matter for speed: <unk>, <s>, </s>, the 256 byte pieces (llama.cpp's tokenizer needs them), then
    // "▁t<id>" pieces up to the model's vocabulary size.
    private static SentencePieceModel PlaceholderVocabulary(int size)
    {
        var pieces = new List<(string, float, PieceType)> { ("<unk>", 0, PieceType.Unknown), ("<s>", 0, PieceType.Control), ("</s>", 0, PieceType.Control) };
        for (int b = 0; b < 256; b++) pieces.Add(($"<0x{b:X2}>", 0, PieceType.Byte));
        for (int id = pieces.Count; id < size; id++) pieces.Add(($"\u2581t{id}", -id, PieceType.Normal));
        if (pieces.Count > size) throw new ArgumentException($"--gguf-out needs a vocabulary of at least {pieces.Count} (3 special and 256 byte pieces); --vocab-size is {size}.");
        return SentencePieceModel.FromPieces(pieces, unkId: 0, bosId: 1, eosId: 2, padId: -1, addDummyPrefix: true, removeExtraWhitespaces: false, "the placeholder vocabulary");
    }

    private static LlamaModel RandomModel(LlamaConfig config, int threads)
    {
        torch.set_num_threads(threads);
        torch.manual_seed(1337);
        var model = new LlamaModel(config);
        model.eval();
        return model;
    }

    // run.c's loop: forward position by position from BOS with the cache, greedy.
    private static int[] Cached(ITokenDecoder decoder, int n)
    {
        var sampler = new Sampler(decoder.Config.VocabSize, new SamplingOptions { Temperature = 0 });
        var ids = new int[n];
        int token = 1;
        for (int pos = 0; pos < n; pos++)
        {
            decoder.Forward([0], [token], [pos]);
            token = sampler.Sample(decoder.Logits(0));
            ids[pos] = token;
        }
        return ids;
    }

    // llama2.c model.py's generate(): no cache, the whole sequence again at every step.
    private static int[] Uncached(LlamaModel model, int n)
    {
        using var noGrad = torch.no_grad();
        var ids = new List<long> { 1 };
        while (ids.Count <= n)
        {
            using var scope = torch.NewDisposeScope();
            var logits = model.forward(torch.tensor(ids.ToArray(), [1, ids.Count]));
            ids.Add(logits[0, -1].argmax().item<long>());
        }
        return ids.Skip(1).Select(i => (int)i).ToArray();
    }
}
