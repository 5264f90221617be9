namespace TinyLlm.MLNet.Serving;

/// <summary>
/// Range checks of the sampling fields of a request, naming the field as the caller spells it (<c>ChatOptions.TopP</c>
/// for the chat client, <c>top_p</c> for the HTTP server): an <see cref="ArgumentOutOfRangeException"/> whose
/// <see cref="ArgumentException.ParamName"/> is that name.
/// </summary>
internal static class SamplingChecks
{
    public static float Temperature(double value, string name) =>
        value >= 0 && double.IsFinite(value) ? (float)value : throw Out(name, $"{name} must be 0 (greedy) or a positive number; it is {value}.");

    public static float TopP(double value, string name) =>
        value > 0 && value <= 1 ? (float)value : throw Out(name, $"{name} must be in (0, 1] (1 keeps every token); it is {value}.");

    public static int TopK(long value, string name) =>
        value >= 1 ? (int)Math.Min(value, int.MaxValue) : throw Out(name, $"{name} must be at least 1 (the vocabulary size or more keeps every token); it is {value}.");

    public static int MaxTokens(long value, string name, int limit) =>
        value >= 1 && value <= limit ? (int)value : throw Out(name, $"{name} must be between 1 and {limit}; it is {value}.");

    public static ulong Seed(long value, string name) =>
        value >= 0 ? (ulong)value : throw Out(name, $"{name} must be 0 or a positive integer; it is {value}.");

    private static ArgumentOutOfRangeException Out(string name, string message) => new(name, message);
}
