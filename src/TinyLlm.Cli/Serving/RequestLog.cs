using System.Diagnostics;
using System.Globalization;
using Microsoft.AspNetCore.Http;

namespace TinyLlm.Cli.Serving;

/// <summary>
/// One line per request on the server's log (standard error): time, client, method, path, status, and what the
/// handler adds (tokens, finish reason, time to first token, tokens/s, or the error).
/// </summary>
internal static class RequestLog
{
    private const string Key = "tinyllm.log";

    /// <summary>Middleware: times the request and writes its line when it is done.</summary>
    public static async Task Write(HttpContext context, RequestDelegate next, TextWriter log)
    {
        long start = Stopwatch.GetTimestamp();
        try
        {
            await next(context);
        }
        finally
        {
            var elapsed = Stopwatch.GetElapsedTime(start);
            string detail = context.Items.TryGetValue(Key, out var d) ? " " + d : "";
            string line = string.Create(CultureInfo.InvariantCulture,
                $"{DateTime.UtcNow:yyyy-MM-ddTHH:mm:ss.fffZ} {context.Connection.RemoteIpAddress} {context.Request.Method} {context.Request.Path} {context.Response.StatusCode} {elapsed.TotalSeconds:F3}s{detail}");
            lock (log) log.WriteLine(line);
        }
    }

    /// <summary>Sets what the request's line says after the status and time.</summary>
    public static void Note(HttpContext context, string detail) => context.Items[Key] = detail;
}
