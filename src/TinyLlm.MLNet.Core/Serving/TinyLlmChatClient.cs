using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;
using Microsoft.ML;
using TinyLlm.MLNet.Generation;

namespace TinyLlm.MLNet.Serving;

/// <summary>
/// A TinyLlm model as a Microsoft.Extensions.AI <see cref="IChatClient"/>, the interface .NET AI libraries (Semantic
/// Kernel and others) accept. Thread-safe: concurrent requests are batched together by a
/// <see cref="GenerationScheduler"/> (continuous batching; each request's text depends only on its own prompt, options
/// and seed).
/// </summary>
/// <remarks>
/// <para>
/// <b>Prompt.</b> Our models are not chat-tuned; they continue text. A request's prompt is the text of its messages, in
/// order, one per line (see <see cref="ChatPrompt"/>): one user message holding the start of a story is passed exactly
/// as written, and the response is its continuation. To give the model an exact prompt whatever the messages, set
/// <c>ChatOptions.AdditionalProperties[<see cref="RawPromptKey"/>]</c> to it.
/// </para>
/// <para>
/// <b>Options.</b> <c>ChatOptions.MaxOutputTokens</c>, <c>Temperature</c>, <c>TopP</c>, <c>TopK</c>, <c>Seed</c> and
/// <c>StopSequences</c> map onto TinyLlm's sampling; what they leave unset comes from
/// <see cref="TinyLlmChatClientOptions.Sampling"/>. Without a seed a request draws a random one (unless
/// <see cref="TinyLlmChatClientOptions.RandomSeed"/> is false); the response's <c>AdditionalProperties["seed"]</c>
/// names it. Tools, a JSON response format, frequency or presence penalties and server-side conversations are not
/// supported (<see cref="NotSupportedException"/>).
/// </para>
/// <para>
/// <b>Results.</b> The finish reason is <see cref="ChatFinishReason.Stop"/> when the model ended the story or a stop
/// sequence was reached (the text ends before it), <see cref="ChatFinishReason.Length"/> when the token budget ran
/// out. Usage counts the prompt's tokens (BOS included) and the generated ones. Streaming yields one update per
/// decoded piece of text, then one with the finish reason and a <see cref="UsageContent"/>. Cancelling the token
/// stops generation between two tokens and frees the request's slot.
/// </para>
/// </remarks>
public sealed class TinyLlmChatClient : IChatClient
{
    /// <summary>The <c>ChatOptions.AdditionalProperties</c> key of a raw prompt (a string), used instead of the messages.</summary>
    public const string RawPromptKey = "prompt";

    private readonly GenerationScheduler _scheduler;
    private readonly bool _ownsScheduler;
    private readonly TinyLlmChatClientOptions _options;
    private readonly ChatClientMetadata _metadata;

    /// <summary>A chat client over a fitted generation transformer; its sampling options are the defaults.</summary>
    public TinyLlmChatClient(LlamaGenerationTransformer model, TinyLlmChatClientOptions? options = null)
        : this((model ?? throw new ArgumentNullException(nameof(model))).Generator, options ?? new TinyLlmChatClientOptions { Sampling = model.Options.Sampling })
    {
    }

    /// <summary>A chat client over a text generator (a model and its tokenizer).</summary>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range.</exception>
    public TinyLlmChatClient(TextGenerator generator, TinyLlmChatClientOptions? options = null)
        : this(new GenerationScheduler(generator, (options ?? new()).Scheduler), options, ownsScheduler: true)
    {
    }

    /// <summary>
    /// A chat client over a scheduler that others may share (an HTTP server, other clients); the scheduler's own
    /// options apply, and disposing the client leaves it running.
    /// </summary>
    public TinyLlmChatClient(GenerationScheduler scheduler, TinyLlmChatClientOptions? options = null)
        : this(scheduler, options, ownsScheduler: false)
    {
    }

    private TinyLlmChatClient(GenerationScheduler scheduler, TinyLlmChatClientOptions? options, bool ownsScheduler)
    {
        _scheduler = scheduler ?? throw new ArgumentNullException(nameof(scheduler));
        _ownsScheduler = ownsScheduler;
        _options = options?.Clone() ?? new TinyLlmChatClientOptions();
        _options.Sampling.Validate();
        if (string.IsNullOrWhiteSpace(_options.ModelId)) throw new ArgumentException("ModelId must not be empty.", nameof(options));
        _metadata = new ChatClientMetadata("TinyLlm", null, _options.ModelId);
    }

    /// <summary>
    /// A chat client over a model file: an ML.NET model zip saved by a TinyLlm pipeline, or (with the tokenizer's
    /// <c>.model</c>) a training checkpoint, a llama2.c file or a Hugging Face folder (see
    /// <see cref="GenerationModelLoader.ReadWeights"/>).
    /// </summary>
    /// <exception cref="FileNotFoundException">A file is missing.</exception>
    /// <exception cref="ArgumentException">A model file without a tokenizer, or a tokenizer of another vocabulary.</exception>
    public static TinyLlmChatClient Load(string modelPath, string? tokenizerModelPath = null, TinyLlmChatClientOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(modelPath);
        var ml = new MLContext();
        LlamaGenerationTransformer model;
        if (GenerationModelLoader.IsZip(modelPath)) model = GenerationModelLoader.LoadZip(ml, modelPath);
        else if (tokenizerModelPath is null)
            throw new ArgumentException($"'{modelPath}' is not an ML.NET model zip: a model file needs the tokenizer's .model too.", nameof(tokenizerModelPath));
        else model = GenerationModelLoader.Load(ml, modelPath, tokenizerModelPath);
        return new TinyLlmChatClient(model, options);
    }

    /// <summary>The scheduler the requests run on.</summary>
    public GenerationScheduler Scheduler => _scheduler;

    /// <inheritdoc />
    public async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        var (request, id, created) = Submit(messages, options, cancellationToken);
        var outcome = await request.Completion.ConfigureAwait(false);
        var message = new ChatMessage(ChatRole.Assistant, outcome.Text) { MessageId = id, CreatedAt = created };
        return new ChatResponse(message)
        {
            ResponseId = id,
            ModelId = _options.ModelId,
            CreatedAt = created,
            FinishReason = FinishReason(outcome),
            Usage = Usage(outcome),
            AdditionalProperties = new AdditionalPropertiesDictionary { ["seed"] = request.Sampling.Seed },
        };
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages,
        ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var (request, id, created) = Submit(messages, options, cancellationToken);
        bool finished = false;
        try
        {
            await foreach (string piece in request.ReadPiecesAsync(cancellationToken).ConfigureAwait(false))
                yield return Update(id, created, [new TextContent(piece)]);
            var outcome = await request.Completion.ConfigureAwait(false);
            finished = true;
            var last = Update(id, created, [new UsageContent(Usage(outcome))]);
            last.FinishReason = FinishReason(outcome);
            last.AdditionalProperties = new AdditionalPropertiesDictionary { ["seed"] = request.Sampling.Seed };
            yield return last;
        }
        finally
        {
            // A consumer that stops reading early gives its slot back at once.
            if (!finished) request.Cancel();
        }
    }

    /// <summary>
    /// <see cref="ChatClientMetadata"/> (provider "TinyLlm", the model id), this client, its
    /// <see cref="GenerationScheduler"/> or its <see cref="TextGenerator"/>; null for anything else or any key.
    /// </summary>
    public object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        if (serviceKey is not null) return null;
        if (serviceType == typeof(ChatClientMetadata)) return _metadata;
        if (serviceType.IsInstanceOfType(this)) return this;
        if (serviceType.IsInstanceOfType(_scheduler)) return _scheduler;
        if (serviceType.IsInstanceOfType(_scheduler.Generator)) return _scheduler.Generator;
        return null;
    }

    /// <summary>Stops the scheduler this client created (one passed in keeps running).</summary>
    public void Dispose()
    {
        if (_ownsScheduler) _scheduler.Dispose();
    }

    private (GenerationRequest Request, string Id, DateTimeOffset Created) Submit(IEnumerable<ChatMessage> messages, ChatOptions? options,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(messages);
        cancellationToken.ThrowIfCancellationRequested();
        CheckSupported(options);
        string prompt = options?.AdditionalProperties?.TryGetValue(RawPromptKey, out object? raw) == true
            ? raw as string ?? throw new ArgumentException($"ChatOptions.AdditionalProperties[\"{RawPromptKey}\"] must be a string (the raw prompt).", nameof(options))
            : ChatPrompt.FromMessages(messages, options?.Instructions);
        var sampling = Sampling(options);
        var request = _scheduler.Submit(prompt, sampling, options?.StopSequences?.ToArray(), cancellationToken);
        return (request, "chatcmpl-" + Guid.NewGuid().ToString("N"), DateTimeOffset.UtcNow);
    }

    private SamplingOptions Sampling(ChatOptions? options)
    {
        var sampling = _options.Sampling.Clone();
        if (_options.RandomSeed) sampling.Seed = (ulong)Random.Shared.NextInt64(long.MaxValue);
        if (options is null) return sampling;
        if (options.MaxOutputTokens is { } max) sampling.MaxNewTokens = SamplingChecks.MaxTokens(max, "ChatOptions.MaxOutputTokens", int.MaxValue);
        if (options.Temperature is { } temperature) sampling.Temperature = SamplingChecks.Temperature(temperature, "ChatOptions.Temperature");
        if (options.TopP is { } topP) sampling.TopP = SamplingChecks.TopP(topP, "ChatOptions.TopP");
        if (options.TopK is { } topK) sampling.TopK = SamplingChecks.TopK(topK, "ChatOptions.TopK");
        if (options.Seed is { } seed) sampling.Seed = SamplingChecks.Seed(seed, "ChatOptions.Seed");
        return sampling;
    }

    private void CheckSupported(ChatOptions? options)
    {
        if (options is null) return;
        if (options.ModelId is { } model && model != _options.ModelId)
            throw new ArgumentException($"ChatOptions.ModelId is '{model}' but this client serves '{_options.ModelId}'.", nameof(options));
        if (options.Tools is { Count: > 0 })
            throw new NotSupportedException("ChatOptions.Tools: TinyLlm models do not call tools.");
        if (options.ResponseFormat is ChatResponseFormatJson)
            throw new NotSupportedException("ChatOptions.ResponseFormat: TinyLlm models write plain text only.");
        if (options.FrequencyPenalty is { } frequency && frequency != 0)
            throw new NotSupportedException("ChatOptions.FrequencyPenalty is not supported by TinyLlm's sampler.");
        if (options.PresencePenalty is { } presence && presence != 0)
            throw new NotSupportedException("ChatOptions.PresencePenalty is not supported by TinyLlm's sampler.");
        if (options.ConversationId is not null)
            throw new NotSupportedException("ChatOptions.ConversationId: TinyLlmChatClient keeps no conversations; send the history as messages.");
    }

    private ChatResponseUpdate Update(string id, DateTimeOffset created, IList<AIContent> contents) => new(ChatRole.Assistant, contents)
    {
        ResponseId = id,
        MessageId = id,
        ModelId = _options.ModelId,
        CreatedAt = created,
    };

    private static ChatFinishReason FinishReason(GenerationOutcome outcome) =>
        outcome.FinishReason == GenerationFinishReason.Length ? ChatFinishReason.Length : ChatFinishReason.Stop;

    private static UsageDetails Usage(GenerationOutcome outcome) => new()
    {
        InputTokenCount = outcome.PromptTokens,
        OutputTokenCount = outcome.CompletionTokens,
        TotalTokenCount = outcome.PromptTokens + outcome.CompletionTokens,
    };
}
