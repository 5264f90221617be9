using System.Text;
using static TinyLlm.MLNet.Stories.Synthetic.English;

namespace TinyLlm.MLNet.Stories.Synthetic;

/// <summary>
/// A second, small grammar for <see cref="SyntheticTheme.Space"/>: robots on far planets, with names, places and
/// words that the classic grammar never uses ("On the planet Vell, there was a small robot called Zib."). It makes
/// a corpus that differs from the classic one in its vocabulary as well as its plots, to fine-tune a model trained
/// on the other and watch the held-out loss fall. Like <see cref="StoryGrammar"/>, a story is a pure function of
/// (seed, index).
/// </summary>
internal sealed class SpaceStoryGrammar
{
    private static readonly string[] Robots =
    [
        "Zib", "Bleep", "Kito", "Vexa", "Plink", "Zorp", "Nimbo", "Tekka", "Orbo", "Quill", "Pixo", "Drax", "Yuri", "Mox",
        "Zeta", "Brix", "Ludo", "Vonn", "Ekko", "Rivet", "Sprok", "Tazz", "Uno", "Wix",
    ];

    private static readonly string[] Planets = ["Vell", "Kora", "Tarnus", "Miro", "Zenth", "Oxa", "Pelion", "Quasar Nine", "Umbra", "Jovix", "Skarn", "Elbor"];

    private static readonly string[] Aliens = ["glorp", "space whale", "moon slug", "star beetle", "crystal bat", "comet fox", "nebula jelly", "dust mite", "orbit eel"];

    private static readonly string[] Parts = ["antenna", "battery", "gear", "wheel", "laser", "solar panel", "bolt", "spring", "sensor", "rocket booster", "magnet", "circuit"];

    private static readonly string[] Looks = ["shiny", "rusty", "silver", "humming", "blinking", "dented", "polished", "glowing", "squeaky", "brass"];

    private static readonly string[] Finds = ["moon rocks", "star dust", "ice crystals", "old satellites", "comet tails", "meteor chips", "frozen gas", "blue pebbles"];

    private static readonly string[] Places = ["crater", "canyon", "dome", "launch pad", "asteroid belt", "space station", "ice cave", "dust valley", "orbit ring"];

    private static readonly string[] Sounds = ["beep", "whirr", "zap", "bloop", "clank", "buzz"];

    private StoryRandom _rng;
    private readonly StringBuilder _text = new(1024);

    private SpaceStoryGrammar(int seed, long index) => _rng = new StoryRandom(seed, index);

    /// <summary>Story number <paramref name="index"/> of the space stream seeded with <paramref name="seed"/>.</summary>
    public static SyntheticStory Generate(int seed, long index) => new SpaceStoryGrammar(seed, index).Write();

    private SyntheticStory Write()
    {
        string robot = _rng.Pick(Robots), friend = _rng.PickOther(Robots, robot);
        string planet = _rng.Pick(Planets), place = _rng.Pick(Places), look = _rng.Pick(Looks);
        string part = _rng.Pick(Parts), find = _rng.Pick(Finds), alien = _rng.Pick(Aliens), sound = _rng.Pick(Sounds);

        S(_rng.Next(3) switch
        {
            0 => $"On the planet {planet}, there was {A(look)} robot called {robot}.",
            1 => $"Far away, past the purple moons, a little robot named {robot} lived on {planet}.",
            _ => $"{robot} was {A(look)} robot who worked in the {place} of {planet}.",
        });
        S($"Every morning, {robot} rolled out to collect {find}.");
        if (_rng.Chance(0.5)) S($"{robot} liked to {_rng.Pick(["count the stars", "polish its " + part, "hum old songs", "watch the rockets"])} before bed.");

        Paragraph();
        bool broken = _rng.Chance(0.5);
        if (broken)
        {
            S($"One cold night, {robot}'s {part} stopped working. \"{Cap(sound)}, {sound}!\" went {robot}, and it could not move.");
            S($"{friend}, a {_rng.Pick(Looks)} robot from the {_rng.Pick(Places)}, heard the noise and zoomed over.");
            S($"\"Hold still, {robot}. I have a spare {part},\" said {friend}.");
            S($"{friend} opened a little hatch and fixed the {part} with a tiny wrench.");
            S($"{robot}'s lights blinked green again. \"Thank you, {friend}! Now we can explore together,\" said {robot}.");
        }
        else
        {
            S($"One day, a {alien} floated out of the {place} and looked at {robot} with {2 + _rng.Next(7)} round eyes.");
            S($"\"{Cap(sound)}! Who are you?\" asked {robot}.");
            S($"\"I am lost,\" said the {alien}. \"My home is on {_rng.PickOther(Planets, planet)}, beyond the {_rng.Pick(Places)}.\"");
            S($"{robot} turned on its {part} and drew a star map in the dust.");
            S($"Together they flew past {3 + _rng.Next(9)} comets until they saw the {alien}'s home.");
        }

        Paragraph();
        string moral = _rng.Pick(["friends fix things together", "every robot needs a helper sometimes", "being kind makes the galaxy brighter", "it is good to share your spare parts"]);
        S(_rng.Chance(0.5)
            ? $"That night, {robot} looked at the stars and knew that {moral}."
            : $"From then on, {robot} and {(broken ? friend : "the " + alien)} were the best friends on {planet}.");

        string summary = broken
            ? $"{robot}'s {part} breaks on {planet}, and {friend} fixes it."
            : $"{robot} helps a lost {alien} find its way home.";
        return new SyntheticStory(_text.ToString(), summary, [broken ? "fix" : "fly", part.Split(' ')[^1], look], broken ? ["Dialogue", "Conflict"] : ["Dialogue"]);
    }

    private bool _paragraphBreak;

    private void S(string sentence)
    {
        if (_text.Length > 0) _text.Append(_paragraphBreak ? "\n\n" : " ");
        _paragraphBreak = false;
        _text.Append(Cap(sentence));
    }

    private void Paragraph() => _paragraphBreak = true;
}
