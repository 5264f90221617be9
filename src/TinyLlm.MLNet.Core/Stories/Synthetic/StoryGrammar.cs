using System.Text;
using V = TinyLlm.MLNet.Stories.Synthetic.Vocabulary;
using static TinyLlm.MLNet.Stories.Synthetic.English;

namespace TinyLlm.MLNet.Stories.Synthetic;

/// <summary>One generated story with the metadata TinyStories carries beside it.</summary>
internal sealed record SyntheticStory(string Story, string Summary, string[] Words, string[] Features);

/// <summary>
/// A seeded grammar for TinyStories-like stories: an opening ("Once upon a time, there was a little girl named
/// Lily."), a meeting ("One day, Lily met a curious owl."), a small plot (a problem, an attempt, a resolution),
/// and often a moral. Every choice comes from one <see cref="StoryRandom"/>, so a story is a pure function of
/// (seed, index). The plots live in StoryPlots.cs.
/// </summary>
internal sealed partial class StoryGrammar
{
    private StoryRandom _rng;
    private readonly StringBuilder _text = new(1536);
    private bool _paragraphBreak;
    private readonly List<string> _features = new(4);
    private string _summary = "";
    private string _verb = "play";

    private Actor _hero = null!;
    private Actor _friend = null!;
    private string _toy = "ball";          // the hero's favourite thing, e.g. "red kite"
    private Place _place = V.Places[0];
    private string _grownup = "mom";       // the hero's grown-up
    private Plot _plot;

    private StoryGrammar(int seed, long index) => _rng = new StoryRandom(seed, index);

    /// <summary>Story number <paramref name="index"/> of the stream seeded with <paramref name="seed"/>.</summary>
    public static SyntheticStory Generate(int seed, long index) => new StoryGrammar(seed, index).Write();

    private SyntheticStory Write()
    {
        _plot = (Plot)_rng.Next(PlotCount);
        _place = _rng.Pick(V.Places);
        // Plots that throw the toy need one that can be thrown.
        string toy = _plot is Plot.StuckUpHigh or Plot.DidNotListen ? _rng.Pick(V.Throwables) : _rng.Pick(V.Toys);
        _toy = _rng.Chance(0.5) ? _rng.Pick(V.Colors) + " " + toy : toy;
        _grownup = _rng.Chance(0.6) ? (_rng.Chance(0.6) ? "mom" : "dad") : _rng.Pick(V.Grownups);

        Opening();
        Traits();
        Paragraph();
        Meeting();
        TellPlot();
        if (_text.ToString().Contains('"')) _features.Add("Dialogue");

        string story = _text.ToString();
        string adjective = _rng.Pick(V.ThingAdjectives);
        string[] words = [_verb, LastWord(_toy), adjective];
        return new SyntheticStory(story, _summary, words, _features.ToArray());
    }

    private static string LastWord(string phrase) => phrase[(phrase.LastIndexOf(' ') + 1)..];

    // --- text helpers ---------------------------------------------------------------------------------------

    /// <summary>Appends one sentence (it brings its own final punctuation).</summary>
    private void S(string sentence)
    {
        if (_text.Length > 0) _text.Append(_paragraphBreak ? "\n\n" : " ");
        _paragraphBreak = false;
        _text.Append(Cap(sentence));
    }

    private void Paragraph() => _paragraphBreak = true;

    /// <summary>Dialogue in the two shapes TinyStories uses: <c>"Hi!" said Lily.</c> and <c>Lily said, "Hi!"</c>.</summary>
    private void Say(Actor who, string words, string? verb = null)
    {
        verb ??= words[^1] switch
        {
            '?' => "asked",
            '!' => _rng.Chance(0.6) ? "said" : _rng.Pick(V.ExclaimVerbs),
            _ => _rng.Chance(0.85) ? "said" : _rng.Pick(V.SayVerbs),
        };
        if (verb == "smiled and said" || _rng.Chance(0.35))
        {
            S($"{who.Name} {verb}, \"{words}\"");
            return;
        }
        string quoted = words.EndsWith('.') ? words[..^1] + "," : words;
        // Put the name first when it is a name ("said Lily"), the pronoun form otherwise ("the dog said").
        S(_rng.Chance(0.5) && who.IsNamed ? $"\"{quoted}\" {verb} {who.Name}." : $"\"{quoted}\" {who.Name} {verb}.");
    }

    private string GrownupHe => _grownup is "mom" or "grandma" or "aunt" or "teacher" ? "she" : "he";

    private string GrownupHim => GrownupHe == "she" ? "her" : "him";

    /// <summary>"Lily and Spot" or "Lily and the owl".</summary>
    private string Both => $"{_hero.Name} and {_friend.Name}";

    // --- opening --------------------------------------------------------------------------------------------

    private void Opening()
    {
        if (_rng.Chance(0.18))
        {
            // An animal hero, named at once.
            var animal = _rng.Pick(V.Animals);
            _hero = Actor.FromAnimal(animal);
            _hero.GiveName(_rng.Pick(V.PetNames), _rng.Chance(0.5));
            string adjective = _rng.Pick(V.CharacterAdjectives);
            S(_rng.Next(3) switch
            {
                0 => $"Once upon a time, there was {A(adjective)} {animal.Noun} named {_hero.Name}.",
                1 => $"Once upon a time, {_place.Preposition} {_place.Noun}, there lived {A(adjective)} {animal.Noun} named {_hero.Name}.",
                _ => $"There once was {A(adjective)} {animal.Noun} called {_hero.Name}.",
            });
            return;
        }

        // "Lily" is by far the most common name in TinyStories: keep it frequent so prompts with it work.
        var child = _rng.Chance(0.2) ? V.Girls[0] : _rng.Chance(0.5) ? _rng.Pick(V.Girls) : _rng.Pick(V.Boys);
        _hero = Actor.FromChild(child);
        string kind = _hero.Kind;
        S(_rng.Next(8) switch
        {
            0 or 1 or 2 => $"Once upon a time, there was a little {kind} named {_hero.Name}.",
            3 or 4 => $"Once upon a time, there was {A(_rng.Pick(V.CharacterAdjectives))} {kind} named {_hero.Name}.",
            5 => $"Once upon a time, in a small {(_rng.Chance(0.5) ? "town" : "village")}, there lived {A(_rng.Pick(V.CharacterAdjectives))} {kind} named {_hero.Name}.",
            6 => $"{_hero.Name} was {A(_rng.Pick(V.CharacterAdjectives))} {kind} who lived in {A(_rng.Pick(V.HouseAdjectives))} house with {_hero.His} mom and dad.",
            _ => $"Once upon a time, there was a {kind}. {Cap(_hero.His)} name was {_hero.Name}.",
        });
    }

    private void Traits()
    {
        int count = 1 + _rng.Next(3);
        int cases = _hero.IsAnimal ? 5 : 8;
        int trait = _rng.Next(cases), step = 1 + _rng.Next(cases - 1);
        for (int i = 0; i < count; i++, trait = (trait + step) % cases)
        {
            switch (trait)
            {
                case 0:
                    S($"{_hero.He} liked to {_rng.Pick(V.Activities).Base} {_place.Preposition} {_place.Noun}.");
                    break;
                case 1:
                    S($"{_hero.He} had {A(_toy)}. It was {_hero.His} favorite thing in the whole world.");
                    break;
                case 2:
                    S($"Every day, {_hero.He} {_rng.Pick(V.Activities).Past} and {_rng.Pick(V.Activities).Past}.");
                    break;
                case 3:
                    S($"{_hero.He} loved to eat {_rng.Pick(V.Foods)} and {_rng.Pick(V.Foods)}.");
                    break;
                case 4:
                    S($"{_hero.He} was always {_rng.Pick(V.Feelings)} when the day was {_rng.Pick(V.Weather)}.");
                    break;
                case 5:
                    S($"{_hero.He} wanted to be {A(_rng.Pick(V.Jobs))} when {_hero.He} grew up.");
                    break;
                case 6:
                    S($"{_hero.His} favorite season was {_rng.Pick(V.Seasons)}, and {_hero.His} favorite color was {_rng.Pick(V.Colors)}.");
                    break;
                default:
                    S($"{_hero.He} liked to ride in the {_rng.Pick(V.Vehicles)} with {_hero.His} {_rng.Pick(V.Grownups)}.");
                    break;
            }
        }
    }

    // --- meeting --------------------------------------------------------------------------------------------

    private void Meeting()
    {
        int shape = _rng.Next(20);
        if (shape < 11)
        {
            // The TinyStories classic: "One day, Lily met a ..."
            var animal = _rng.Pick(V.Animals);
            _friend = Actor.FromAnimal(animal);
            string adjective = _rng.Pick(V.CharacterAdjectives);
            S(_rng.Chance(0.75)
                ? $"One day, {_hero.Name} met {A(adjective)} {animal.Noun}."
                : $"One day, {_hero.Name} met {A(adjective)} {animal.Noun} {_place.Preposition} {_place.Noun}.");
            if (V.Calls.TryGetValue(animal.Noun, out string? call) && _rng.Chance(0.5))
                S($"\"{call}! {call}!\" {animal.Sound} the {animal.Noun}, and it {animal.Move} around {_hero.Name}.");
            else
                S($"The {animal.Noun} {animal.Sound} and {animal.Move} around {_hero.Name}.");
            if (_rng.Chance(0.7))
            {
                Say(_hero, _rng.Chance(0.5) ? $"Hello, little {animal.Noun}! What is your name?" : $"Hi! Who are you?");
                _friend.GiveName(_rng.PickOther(V.PetNames, _hero.Name), _rng.Chance(0.5));
                Say(_friend, $"My name is {_friend.Name}. Do you want to be my friend?");
                Say(_hero, _rng.Chance(0.5) ? "Yes, I do!" : "Yes! Let's play together.");
            }
        }
        else if (shape < 15)
        {
            _friend = Actor.FromChild(OtherChild());
            S($"One day, {_hero.Name} met a new friend named {_friend.Name} {_place.Preposition} {_place.Noun}.");
            S($"{_friend.Name} was {A(_rng.Pick(V.CharacterAdjectives))} {_friend.Kind} with {_rng.Pick(V.Looks)}.");
        }
        else
        {
            _friend = Actor.FromChild(OtherChild());
            string when = _rng.Pick(["One day", "One sunny day", "One morning", "One afternoon", "Yesterday"]);
            S($"{when}, {_hero.Name} and {_hero.His} friend {_friend.Name} went to {The(_place)}.");
        }
        if (_rng.Chance(0.5))
        {
            S($"{_rng.Pick(V.NatureSights)}.");
        }
        else
        {
            int n = _place.Sights.Length, i = _rng.Next(n), j = (i + 1 + _rng.Next(n - 1)) % n;
            S($"{The(_place)} had {_place.Sights[i]} and {_place.Sights[j]}.");
        }
    }

    private Child OtherChild()
    {
        var children = _rng.Chance(0.5) ? V.Girls : V.Boys;
        var child = _rng.Pick(children);
        return child.Name == _hero.Name ? children[(Array.IndexOf(children, child) + 1) % children.Length] : child;
    }

    private static string The(Place place) =>
        place.Preposition.EndsWith(" the", StringComparison.Ordinal) ? "the " + place.Noun : place.Noun;

    private void Moral(string moral)
    {
        _features.Add("MoralValue");
        switch (_rng.Next(3))
        {
            case 0:
                S($"{_hero.Name} learned that {moral}.");
                break;
            case 1:
                S($"That day, {_hero.Name} learned an important lesson: {moral}.");
                break;
            default:
                S($"From that day on, {_hero.Name} knew that {moral}.");
                break;
        }
    }

    private void HappyEnding()
    {
        switch (_rng.Next(4))
        {
            case 0:
                S($"From that day on, {Both} were best friends.");
                break;
            case 1:
                S($"They {_rng.Pick(V.Activities).Past} until the sun went down.");
                break;
            case 2:
                S($"{_hero.Name} smiled. It was the best day ever.");
                break;
            default:
                S($"{Both} were very {_rng.Pick(["happy", "glad", "proud", "thankful"])}.");
                break;
        }
    }
}
