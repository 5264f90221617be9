using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;

namespace TinyLlm.Cli.Commands;

/// <summary>
/// <c>tinyllm bench serve</c>: a load generator for a running <c>tinyllm serve</c>. The same list of streaming
/// completion requests (one prompt, a seed each) is sent by 1, 4, 16 ... concurrent clients, in interleaved rounds;
/// for each it reports the aggregate tokens/s and the time to first token (p50, p95), one JSON line per run, then a
/// table of the best round with the spread. 1 client is the same requests served one at a time.
/// </summary>
internal static class BenchServeCommand
{
    public static Command Create()
    {
        var url = new Option<string>("--url") { Description = "The server's address.", DefaultValueFactory = _ => "http://127.0.0.1:8080/" };
        var clients = new Option<string>("--clients") { Description = "Concurrent clients per run, comma-separated.", DefaultValueFactory = _ => "1,4,16,64" };
        var requests = new Option<int>("--requests") { Description = "Requests per run (the same list at every concurrency).", DefaultValueFactory = _ => 64 };
        var maxTokens = new Option<int>("--max-tokens") { Description = "max_tokens of every request.", DefaultValueFactory = _ => 128 };
        var rounds = new Option<int>("--rounds") { Description = "Interleaved rounds (every concurrency once per round).", DefaultValueFactory = _ => 3 };
        var prompt = new Option<string>("--prompt") { Description = "The prompt of every request.", DefaultValueFactory = _ => "One day, Lily met a" };
        var serverPid = new Option<int?>("--server-pid") { Description = "The server's process id: reports the CPU the rest of the machine used during each run (how busy it was)." };

        var command = new Command("serve", "Load a running `tinyllm serve` with streaming requests at several concurrencies; aggregate tokens/s and time to first token.");
        foreach (var o in new Option[] { url, clients, requests, maxTokens, rounds, prompt, serverPid })
            command.Options.Add(o);
        command.SetAction(async (parse, cancel) =>
        {
            int[] levels = parse.GetValue(clients)!.Split(',').Select(c => int.Parse(c.Trim(), CultureInfo.InvariantCulture)).ToArray();
            if (levels.Any(c => c < 1)) throw new ArgumentException("--clients must be positive integers.");
            int n = parse.GetValue(requests), max = parse.GetValue(maxTokens);
            if (n < 1) throw new ArgumentException($"--requests must be at least 1; it was {n}.");
            using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = int.MaxValue }) { BaseAddress = new Uri(parse.GetValue(url)!), Timeout = TimeSpan.FromMinutes(30) };
            var health = await http.GetFromJsonAsync<JsonElement>("health", cancel);
            Console.Error.WriteLine($"# server: {health}");
            var jobs = Enumerable.Range(0, n).Select(i => new { prompt = parse.GetValue(prompt), max_tokens = max, seed = 1000 + i, stream = true, stream_options = new { include_usage = true } }).ToArray();

            // A warm-up run (the JIT compiles the server's hot code), not measured.
            await Run(http, jobs.Take(Math.Min(n, 8)).ToArray(), Math.Min(n, 8), null, cancel);
            var results = new List<RunResult>();
            for (int round = 1; round <= parse.GetValue(rounds); round++)
                foreach (int level in levels)
                {
                    var result = await Run(http, jobs, level, parse.GetValue(serverPid), cancel) with { Round = round };
                    results.Add(result);
                    Console.WriteLine(JsonSerializer.Serialize(result));
                }

            // Every run generated the same texts: the same requests give the same stories at any concurrency.
            bool same = results.Select(r => r.TextsHash).Distinct().Count() == 1;
            Console.WriteLine();
            Console.WriteLine($"| clients | aggregate tokens/s (best of {parse.GetValue(rounds)}; all rounds) | vs one at a time | time to first token p50 / p95 | tokens per request | others' CPU (cores) |");
            Console.WriteLine("|---|---|---|---|---|---|");
            double single = results.Where(r => r.Clients == 1).Select(r => r.TokensPerSecond).DefaultIfEmpty(double.NaN).Max();
            foreach (int level in levels)
            {
                var runs = results.Where(r => r.Clients == level).ToList();
                var best = runs.MaxBy(r => r.TokensPerSecond)!;
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {level} | **{best.TokensPerSecond:N0}** ({string.Join(" / ", runs.Select(r => r.TokensPerSecond.ToString("N0", CultureInfo.InvariantCulture)))}) | {best.TokensPerSecond / single:F1}x | {best.TtftP50Ms:N0} / {best.TtftP95Ms:N0} ms | {best.Tokens / (double)n:F1} | {string.Join(" / ", runs.Select(r => r.OthersCpu is { } c ? c.ToString("F2", CultureInfo.InvariantCulture) : "?"))} |"));
            }
            Console.WriteLine();
            Console.WriteLine($"same texts at every concurrency: {(same ? "yes" : "NO")}");
            return same ? 0 : 1;
        });
        return command;
    }

    /// <summary>One run: <paramref name="clients"/> clients send the requests of <paramref name="jobs"/>, each taking the next unsent one.</summary>
    private static async Task<RunResult> Run(HttpClient http, object[] jobs, int clients, int? serverPid, CancellationToken cancel)
    {
        var ttft = new double[jobs.Length];
        var tokens = new int[jobs.Length];
        var texts = new string[jobs.Length];
        int next = -1;
        var cpu = CpuSample.Take(serverPid);
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, clients).Select(_ => Task.Run(async () =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < jobs.Length)
                (ttft[i], tokens[i], texts[i]) = await Stream(http, jobs[i], cancel);
        }, cancel)));
        double seconds = clock.Elapsed.TotalSeconds;
        var sorted = ttft.Order().ToArray();
        return new RunResult(0, clients, jobs.Length, tokens.Sum(), seconds, tokens.Sum() / seconds,
            Percentile(sorted, 0.5), Percentile(sorted, 0.95), cpu.OthersSince(serverPid, seconds),
            string.Join('\u0001', texts).GetHashCode(StringComparison.Ordinal).ToString("x8", CultureInfo.InvariantCulture),
            OperatingSystem.IsLinux() ? File.ReadAllText("/proc/loadavg").Split(' ')[0] : "");
    }

    // One streaming request: milliseconds to the first piece of text, completion tokens (from the usage chunk), text.
    private static async Task<(double, int, string)> Stream(HttpClient http, object job, CancellationToken cancel)
    {
        var clock = Stopwatch.StartNew();
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/completions") { Content = JsonContent.Create(job) };
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancel);
        response.EnsureSuccessStatusCode();
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cancel));
        double first = double.NaN;
        int count = 0;
        var text = new System.Text.StringBuilder();
        while (await reader.ReadLineAsync(cancel) is { } line)
        {
            if (!line.StartsWith("data: ", StringComparison.Ordinal)) continue;
            if (line == "data: [DONE]") break;
            using var chunk = JsonDocument.Parse(line.AsMemory(6));
            var root = chunk.RootElement;
            if (root.TryGetProperty("usage", out var usage) && usage.ValueKind == JsonValueKind.Object) count = usage.GetProperty("completion_tokens").GetInt32();
            foreach (var choice in root.GetProperty("choices").EnumerateArray())
                if (choice.GetProperty("text").GetString() is { Length: > 0 } piece)
                {
                    if (double.IsNaN(first)) first = clock.Elapsed.TotalMilliseconds;
                    text.Append(piece);
                }
        }
        return (double.IsNaN(first) ? clock.Elapsed.TotalMilliseconds : first, count, text.ToString());
    }

    private static double Percentile(double[] sorted, double p) => sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1)];

    private sealed record RunResult(int Round, int Clients, int Requests, int Tokens, double Seconds, double TokensPerSecond,
        double TtftP50Ms, double TtftP95Ms, double? OthersCpu, string TextsHash, string LoadAverage);

    /// <summary>
    /// CPU time of the whole machine, of the server and of this process (Linux /proc), to tell how much of the machine
    /// other work took during a run: busy cores minus ours.
    /// </summary>
    private sealed record CpuSample(double MachineBusy, double Server, double Self)
    {
        private static readonly double Tick = 100.0; // USER_HZ: clock ticks per second on Linux

        public static CpuSample Take(int? serverPid)
        {
            if (!OperatingSystem.IsLinux()) return new CpuSample(0, 0, 0); // /proc is Linux's; elsewhere the column stays empty
            // cpu  user nice system idle iowait irq softirq steal ...
            double[] f = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).Select(s => double.Parse(s, CultureInfo.InvariantCulture)).ToArray();
            double busy = (f.Sum() - f[3] - f[4]) / Tick;
            return new CpuSample(busy, serverPid is { } pid ? ProcessSeconds(pid) : 0, Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds);
        }

        /// <summary>Cores' worth of CPU that other processes used since this sample, over <paramref name="seconds"/>; null without the server's pid.</summary>
        public double? OthersSince(int? serverPid, double seconds)
        {
            if (serverPid is null || !OperatingSystem.IsLinux()) return null;
            var now = Take(serverPid);
            double others = now.MachineBusy - MachineBusy - (now.Server - Server) - (now.Self - Self);
            return Math.Max(0, others / seconds);
        }

        private static double ProcessSeconds(int pid)
        {
            // /proc/pid/stat: fields 14 and 15 (utime, stime) after the parenthesised command name
            string stat = File.ReadAllText($"/proc/{pid}/stat");
            string[] f = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return (double.Parse(f[11], CultureInfo.InvariantCulture) + double.Parse(f[12], CultureInfo.InvariantCulture)) / Tick;
        }
    }
}
