using System.CommandLine;
using TinyLlm.MLNet.Generation;

namespace TinyLlm.Cli.Commands;

/// <summary><c>tinyllm generate</c>: samples stories from a prompt, streaming them to the terminal (the tutorial's sample.py).</summary>
internal static class GenerateCommand
{
    public static Command Create()
    {
        var prompt = new Option<string>("--prompt", "--start") { Description = "The start of the story; FILE:path reads it from a file.", DefaultValueFactory = _ => "One day, Lily met a" };
        var checkpoint = new Option<FileInfo?>("--checkpoint") { Description = "A training checkpoint (out/ckpt.bin), a llama2.c model file (v0 out/model.bin, v1, or v2 Q8_0), a Hugging Face Llama folder or a GGUF file (llama.cpp's format). Default: out/ckpt.bin unless --model is given." };
        var tokenizer = new Option<FileInfo?>("--tokenizer-model-path", "--tokenizer") { Description = "The tokenizer .model the checkpoint was trained with (a GGUF file carries its own; if given, it must match)." };
        var model = new Option<FileInfo?>("--model") { Description = "An ML.NET model zip saved by the TinyLlm pipeline (holds weights and tokenizer)." };
        var samples = new Option<int>("--num-samples") { Description = "How many stories to generate (several are generated as one batch).", DefaultValueFactory = _ => 1 };
        var maxNew = new Option<int>("--max-new-tokens") { Description = "Tokens to generate per story (at least 1).", DefaultValueFactory = _ => 256 };
        var temperature = new Option<float>("--temperature") { Description = "0 = greedy; higher is more random.", DefaultValueFactory = _ => 1.0f };
        var topK = new Option<int>("--top-k") { Description = "Keep the k most likely tokens (at least 1; the vocabulary size keeps all).", DefaultValueFactory = _ => 300 };
        var topP = new Option<float>("--top-p") { Description = "Nucleus sampling threshold in (0, 1]; 1 = off.", DefaultValueFactory = _ => 1.0f };
        var seed = new Option<ulong>("--seed") { Description = "Sampling seed (story i of --num-samples uses seed + i).", DefaultValueFactory = _ => 1337 };
        var device = new Option<string?>("--device") { Description = "auto, cpu or cuda (default: what the --model zip saved, else auto: cuda when visible, else cpu)." };
        var backend = new Option<string?>("--backend") { Description = "auto, engine (TinyLlm's .NET CPU engine) or torch (TorchSharp with a KV cache, CPU or CUDA). Default: what the --model zip saved, else auto: torch on CUDA, else the engine." };
        var weightFormat = WeightFormatOption.Create();
        var slide = new Option<bool>("--slide-context-window") { Description = "When prompt and story fill the model's context, go on conditioned on its last half instead of stopping (run.c stops)." };

        var command = new Command("generate", "Generate stories from a prompt with a trained model, streaming the text as it is produced.");
        foreach (var o in new Option[] { prompt, checkpoint, tokenizer, model, samples, maxNew, temperature, topK, topP, seed, device, backend, weightFormat, slide })
            command.Options.Add(o);
        command.SetAction(parse =>
        {
            string? dev = parse.GetValue(device);
            if (dev is not null && dev.Trim().ToLowerInvariant() is not ("auto" or "cpu" or "cuda"))
                throw new ArgumentException($"--device must be auto, cpu or cuda; it was '{dev}'.");
            GenerationBackend? chosen = parse.GetValue(backend) is { } b ? GeneratorLoader.ParseBackend(b) : null;
            int count = parse.GetValue(samples);
            if (count < 1) throw new ArgumentException($"--num-samples must be at least 1; it was {count}.");
            var sampling = new SamplingOptions
            {
                MaxNewTokens = parse.GetValue(maxNew),
                Temperature = parse.GetValue(temperature),
                TopK = parse.GetValue(topK),
                TopP = parse.GetValue(topP),
                Seed = parse.GetValue(seed),
                SlideContextWindow = parse.GetValue(slide),
            };
            sampling.Validate();

            var format = WeightFormatOption.Parse(parse.GetValue(weightFormat));
            var generator = GeneratorLoader.Load(parse.GetValue(model), parse.GetValue(checkpoint), parse.GetValue(tokenizer), chosen, dev, format).Generator;
            string ranOn = GeneratorLoader.RanOn(generator);
            string start = ReadPrompt(parse.GetValue(prompt)!);
            if (count == 1)
            {
                // One story streams to the terminal as it is generated.
                // The decoder first: a model too large for memory fails before any text is printed.
                using var decoder = generator.CreateDecoder();
                Console.Write(start);
                var result = generator.Generate(start, sampling, piece => Console.Write(piece), decoder);
                Console.WriteLine();
                string end = result.StoppedAtEndOfText ? ", end of story"
                    : result.StoppedAtContextLength ? $", stopped at the model's context length ({generator.Weights.Config.MaxSeqLen} positions; --slide-context-window goes on)" : "";
                Console.Error.WriteLine($"[{result.TokenIds.Count} tokens, {result.TokensPerSecond:F1} tokens/s, {ranOn}{end}]");
                return 0;
            }
            // Several stories are generated together as one batch (story i with seed + i), then printed.
            var clock = System.Diagnostics.Stopwatch.StartNew();
            var results = generator.GenerateBatch(Enumerable.Repeat(start, count).ToArray(), sampling);
            double seconds = Math.Max(clock.Elapsed.TotalSeconds, 1e-9);
            for (int i = 0; i < count; i++)
            {
                Console.WriteLine(start + results[i].Text);
                if (i < count - 1) Console.WriteLine("---------------");
            }
            int total = results.Sum(r => r.TokenIds.Count), full = results.Count(r => r.StoppedAtContextLength);
            string atContext = full > 0 ? $", {full} stopped at the model's context length ({generator.Weights.Config.MaxSeqLen} positions; --slide-context-window goes on)" : "";
            Console.Error.WriteLine($"[{count} stories as one batch: {total} tokens, {total / seconds:F1} tokens/s, {ranOn}{atContext}]");
            return 0;
        });
        return command;
    }

    private static string ReadPrompt(string prompt)
    {
        if (!prompt.StartsWith("FILE:", StringComparison.Ordinal)) return prompt;
        string path = prompt["FILE:".Length..];
        if (!File.Exists(path)) throw new FileNotFoundException($"Prompt file '{path}' (from --prompt FILE:{path}) does not exist.", path);
        return File.ReadAllText(path);
    }
}
