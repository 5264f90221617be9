using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using TinyLlm.MLNet.IO;

namespace TinyLlm.Cli.Commands;

/// <summary>
/// <c>quickstart.json</c> in the work folder: the completion record of every finished stage of <c>tinyllm quickstart</c>
/// (stories, tokenizer, training), each with the signature of what it was made from. A stage is reused only when its
/// record, written last and atomically once the stage's files are complete, has the signature of this run; a run
/// killed mid-stage leaves no record for it, so the next one redoes it. An unreadable file (truncated, edited) counts
/// as no record at all.
/// </summary>
internal sealed class QuickstartStages
{
    /// <summary>The record's file name inside the work folder.</summary>
    public const string FileName = "quickstart.json";

    private readonly string _path;
    private readonly JsonObject _stages;

    private QuickstartStages(string path, JsonObject stages, bool unreadable)
    {
        _path = path;
        _stages = stages;
        WasUnreadable = unreadable;
    }

    /// <summary>True when a record file was there but could not be read (it is then ignored and rewritten).</summary>
    public bool WasUnreadable { get; }

    /// <summary>The records of <paramref name="workDir"/>, or none.</summary>
    public static QuickstartStages Open(string workDir)
    {
        string path = Path.Combine(workDir, FileName);
        if (!File.Exists(path)) return new QuickstartStages(path, [], false);
        try
        {
            return new QuickstartStages(path, JsonNode.Parse(File.ReadAllText(path)) as JsonObject ?? throw new JsonException("not an object"), false);
        }
        catch (JsonException)
        {
            return new QuickstartStages(path, [], true);
        }
    }

    /// <summary>The record of <paramref name="stage"/> if it finished with <paramref name="signature"/>, else null.</summary>
    public T? Find<T>(string stage, string signature) where T : class
    {
        if (_stages[stage] is not JsonObject entry || entry["signature"]?.GetValue<string>() != signature) return null;
        try
        {
            return entry["record"].Deserialize<T>();
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>Whether <paramref name="stage"/> finished with <paramref name="signature"/>.</summary>
    public bool IsDone(string stage, string signature) => Find<JsonNode>(stage, signature) is not null;

    /// <summary>Records <paramref name="stage"/> as finished (rewriting the file atomically); its files must be complete.</summary>
    public void Complete<T>(string stage, string signature, T record)
    {
        _stages[stage] = new JsonObject { ["signature"] = signature, ["record"] = JsonSerializer.SerializeToNode(record) };
        AtomicFile.WriteAllText(_path, _stages.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
    }

    /// <summary>Lower-case hex SHA-256 of a file: what a later stage's signature records of an earlier stage's output.</summary>
    public static string Hash(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }
}
