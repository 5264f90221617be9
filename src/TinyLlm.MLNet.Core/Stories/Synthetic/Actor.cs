namespace TinyLlm.MLNet.Stories.Synthetic;

/// <summary>
/// Someone in a story with the words that refer to them, so every sentence agrees: "Lily ... she ... her", "the
/// dog ... it ... its", "Spot (a dog) ... he ... his".
/// </summary>
internal sealed class Actor
{
    private Actor(string name, string kind, bool isAnimal, string he, string him, string his)
    {
        Name = name;
        Kind = kind;
        IsAnimal = isAnimal;
        He = he;
        Him = him;
        His = his;
    }

    /// <summary>How the story names them: "Lily", "Spot" or "the dog".</summary>
    public string Name { get; private set; }

    /// <summary>What they are: "girl", "boy", "dog", "owl".</summary>
    public string Kind { get; }

    public bool IsAnimal { get; }

    /// <summary>Subject pronoun: she, he, it.</summary>
    public string He { get; private set; }

    /// <summary>Object pronoun: her, him, it.</summary>
    public string Him { get; private set; }

    /// <summary>Possessive: her, his, its.</summary>
    public string His { get; private set; }

    /// <summary>The animal this actor is, when it is one.</summary>
    public Animal? Animal { get; private init; }

    public static Actor FromChild(Child child) =>
        child.IsGirl ? new Actor(child.Name, "girl", false, "she", "her", "her")
                     : new Actor(child.Name, "boy", false, "he", "him", "his");

    /// <summary>An unnamed animal ("the owl", "it") until <see cref="GiveName"/>.</summary>
    public static Actor FromAnimal(Animal animal) =>
        new("the " + animal.Noun, animal.Noun, true, "it", "it", "its") { Animal = animal };

    /// <summary>A named animal is a he or a she, like the pets of TinyStories.</summary>
    public void GiveName(string name, bool isGirl)
    {
        Name = name;
        He = isGirl ? "she" : "he";
        Him = isGirl ? "her" : "him";
        His = isGirl ? "her" : "his";
    }

    public bool IsNamed => !Name.StartsWith("the ", StringComparison.Ordinal);

    public bool CanFly => Animal?.Move == "flew";

    /// <summary>What a friend holds out or hurts: hand, paw, wing, fin.</summary>
    public string Hand => Animal switch
    {
        null => "hand",
        { Move: "flew" } => "wing",
        { Move: "swam" } => "fin",
        _ => "paw",
    };
}
