using Microsoft.Extensions.AI;

namespace TinyLlm.MLNet.Serving;

/// <summary>
/// How chat messages become the text a TinyLlm model continues. Our models are not chat-tuned: they were trained to
/// continue stories and know no roles or turn markers, so the prompt is simply the text of the messages, in order,
/// one per line: <c>ChatOptions.Instructions</c> (if any) first, then each message's text (system, user and assistant
/// alike; a message without text, or non-text content, adds nothing). One user message is therefore passed exactly
/// as written, which is the usual way to use these models: send the start of a story and get its continuation.
/// </summary>
public static class ChatPrompt
{
    /// <summary>What goes between the texts of two messages.</summary>
    public const string Separator = "\n";

    /// <summary>The prompt for <paramref name="messages"/> and optional <paramref name="instructions"/>.</summary>
    public static string FromMessages(IEnumerable<ChatMessage> messages, string? instructions = null)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var texts = new List<string>();
        if (!string.IsNullOrEmpty(instructions)) texts.Add(instructions);
        foreach (var message in messages)
        {
            ArgumentNullException.ThrowIfNull(message, nameof(messages));
            string text = message.Text;
            if (text.Length > 0) texts.Add(text);
        }
        return string.Join(Separator, texts);
    }
}
