using System.CommandLine;
using System.Runtime.InteropServices;
using TinyLlm.Cli.Serving;
using TinyLlm.MLNet.Generation;
using TinyLlm.MLNet.Serving;

namespace TinyLlm.Cli.Commands;

/// <summary>
/// <c>tinyllm serve</c>: an OpenAI-compatible HTTP server (completions, chat completions, streaming) with continuous
/// batching, and a page to try the model at <c>/</c>. Runs until Ctrl+C (or SIGTERM).
/// </summary>
internal static class ServeCommand
{
    public static Command Create()
    {
        var model = new Option<FileInfo>("--model") { Description = "An ML.NET model zip saved by the TinyLlm pipeline, or a model file (training checkpoint, llama2.c v0/v1/v2, Hugging Face folder) with --tokenizer-model-path.", Required = true };
        var tokenizer = new Option<FileInfo?>("--tokenizer-model-path", "--tokenizer") { Description = "The tokenizer .model, for a model file (a zip holds its own)." };
        var host = new Option<string>("--host") { Description = "The address to listen on: 127.0.0.1 (this machine only), 0.0.0.0 (every interface), or another IP address.", DefaultValueFactory = _ => "127.0.0.1" };
        var port = new Option<int>("--port") { Description = "The TCP port (0 picks a free one).", DefaultValueFactory = _ => 8080 };
        var maxBatch = new Option<int>("--max-batch") { Description = "How many requests generate together (one decoding step advances them all).", DefaultValueFactory = _ => 16 };
        var maxWaiting = new Option<int>("--max-waiting") { Description = "How many requests may wait for a free slot; more are refused with 429.", DefaultValueFactory = _ => 64 };
        var maxTokens = new Option<int>("--max-tokens") { Description = "A request's token budget when it gives none (max_tokens), and the most it may ask for.", DefaultValueFactory = _ => 256 };
        var maxRequestBytes = new Option<long>("--max-request-bytes") { Description = "The largest request body accepted (413 above).", DefaultValueFactory = _ => 1 << 20 };
        var modelId = new Option<string?>("--model-id") { Description = "The model's name in /v1/models and in requests (default: the model file's name without extension)." };
        var contextShift = new Option<bool>("--slide-context-window") { Description = "When a request's text fills the model's context, go on conditioned on the most recent half of it (llama.cpp's server calls this context shift) instead of stopping with finish_reason \"length\"." };
        var weightFormat = WeightFormatOption.Create();

        var command = new Command("serve", "Serve the model over an OpenAI-compatible HTTP API (POST /v1/completions, /v1/chat/completions; streaming), with continuous batching and a page to try it at /.");
        foreach (var o in new Option[] { model, tokenizer, host, port, maxBatch, maxWaiting, maxTokens, maxRequestBytes, modelId, contextShift, weightFormat })
            command.Options.Add(o);
        command.SetAction(parse =>
        {
            var file = parse.GetValue(model)!;
            var schedulerOptions = new GenerationSchedulerOptions { MaxBatch = parse.GetValue(maxBatch), MaxWaiting = parse.GetValue(maxWaiting) };
            schedulerOptions.Validate();
            var serverOptions = new OpenAiServerOptions
            {
                Host = parse.GetValue(host)!,
                Port = parse.GetValue(port),
                MaxTokens = parse.GetValue(maxTokens),
                MaxRequestBytes = parse.GetValue(maxRequestBytes),
                ModelId = parse.GetValue(modelId) ?? Path.GetFileNameWithoutExtension(file.FullName.TrimEnd('/')),
            };
            serverOptions.Validate();
            if (!file.Exists && !Directory.Exists(file.FullName)) throw new FileNotFoundException($"--model '{file.FullName}' does not exist.", file.FullName);

            var format = WeightFormatOption.Parse(parse.GetValue(weightFormat));
            bool zip = GenerationModelLoader.IsZip(file.FullName);
            var generation = zip
                ? GeneratorLoader.Load(file, null, null, null, null, format)
                : GeneratorLoader.Load(null, file, parse.GetValue(tokenizer), null, null, format);
            serverOptions.Defaults = generation.Options.Sampling;
            if (parse.GetValue(contextShift)) serverOptions.Defaults.SlideContextWindow = true;
            var generator = generation.Generator;
            using var scheduler = new GenerationScheduler(generator, schedulerOptions);
            using var stop = new CancellationTokenSource();
            // .NET maps these onto every system: on Windows SIGINT is Ctrl+C, SIGTERM a shutdown, and SIGHUP the console
            // window closing (on Unix SIGHUP keeps its usual meaning, so it is left alone there).
            using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
            using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
            using var consoleClosed = OperatingSystem.IsWindows() ? PosixSignalRegistration.Create(PosixSignal.SIGHUP, Stop) : null;
            var server = OpenAiServer.StartAsync(scheduler, serverOptions).GetAwaiter().GetResult();
            var config = generator.Weights.Config;
            Console.Error.WriteLine($"tinyllm serve: '{serverOptions.ModelId}' ({config.Dim}/{config.NLayers}/{config.NHeads}/{config.NKvHeads}, vocab {config.VocabSize}, context {config.MaxSeqLen}, {generator.Weights.Format}) on {GeneratorLoader.RanOn(generator)}; max batch {scheduler.MaxBatch}, max waiting {scheduler.MaxWaiting}, max tokens {serverOptions.MaxTokens}");
            Console.Error.WriteLine($"listening on {server.Address} (the page: {server.Address}; the API: {server.Address}v1/); Ctrl+C stops");
            try
            {
                stop.Token.WaitHandle.WaitOne();
            }
            finally
            {
                Console.Error.WriteLine("stopping");
                server.DisposeAsync().AsTask().GetAwaiter().GetResult();
            }
            return 0;

            void Stop(PosixSignalContext context)
            {
                context.Cancel = true; // stop cleanly below instead of being killed
                stop.Cancel();
            }
        });
        return command;
    }
}
