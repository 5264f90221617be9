using V = TinyLlm.MLNet.Stories.Synthetic.Vocabulary;
using static TinyLlm.MLNet.Stories.Synthetic.English;

namespace TinyLlm.MLNet.Stories.Synthetic;

/// <summary>The plots: each a problem, an attempt and a resolution, told with dialogue, usually with a moral.</summary>
internal sealed partial class StoryGrammar
{
    private enum Plot
    {
        LostThing, StuckUpHigh, Sharing, RainyPicnic, Fear, HurtAnimal, BrokenAndHonest, Baking, Race, Planting,
        TreasureMap, DidNotListen, ZooVisit, DreamJob, SnowyDay, Music, BeachDay,
    }

    private const int PlotCount = (int)Plot.BeachDay + 1;

    private void TellPlot()
    {
        Paragraph();
        switch (_plot)
        {
            case Plot.LostThing: LostThing(); break;
            case Plot.StuckUpHigh: StuckUpHigh(); break;
            case Plot.Sharing: Sharing(); break;
            case Plot.RainyPicnic: RainyPicnic(); break;
            case Plot.Fear: Fear(); break;
            case Plot.HurtAnimal: HurtAnimal(); break;
            case Plot.BrokenAndHonest: BrokenAndHonest(); break;
            case Plot.Baking: Baking(); break;
            case Plot.Race: Race(); break;
            case Plot.Planting: Planting(); break;
            case Plot.TreasureMap: TreasureMap(); break;
            case Plot.DidNotListen: DidNotListen(); break;
            case Plot.ZooVisit: ZooVisit(); break;
            case Plot.DreamJob: DreamJob(); break;
            case Plot.SnowyDay: SnowyDay(); break;
            case Plot.Music: Music(); break;
            default: BeachDay(); break;
        }
    }

    private void LostThing()
    {
        _verb = "find";
        _features.Add("Conflict");
        string thing = _rng.Pick(V.Toys);
        S($"{_friend.Name} looked very sad.");
        Say(_hero, "What is wrong?");
        Say(_friend, $"I lost my {thing}. I cannot find it anywhere.");
        Say(_hero, $"Do not worry. I will help you find it.");
        string[] spots = [_rng.Pick(V.HidingSpots), _rng.Pick(V.HidingSpots), _rng.Pick(V.HidingSpots)];
        S($"They looked {spots[0]}, but the {thing} was not there.");
        if (spots[1] != spots[0]) S($"They looked {spots[1]}, but it was not there either.");
        S($"{_hero.Name} was tired, but {_hero.He} did not give up.");
        if (spots[2] == spots[0] || spots[2] == spots[1]) spots[2] = "in the very last place they looked";
        S($"Then {_hero.He} looked {spots[2]}.");
        Say(_hero, $"I found it! I found your {thing}!", "shouted");
        S($"{_friend.Name} was so happy. {Cap(_friend.He)} gave {_hero.Name} a big hug.");
        Say(_friend, $"Thank you, {_hero.Name}! You are a good friend.");
        Paragraph();
        _summary = $"{_hero.Name} helps {_friend.Name} find a lost {thing} and they become good friends.";
        if (_rng.Chance(0.7)) Moral(_rng.Pick(["it is good to help others", "a good friend helps when things go wrong", "you should never give up"]));
        else HappyEnding();
    }

    private void StuckUpHigh()
    {
        _verb = "throw";
        _features.Add("Conflict");
        string high = _rng.Pick(V.HighPlaces);
        S($"{Both} played with {_hero.His} {_toy} {_place.Preposition} {_place.Noun}.");
        S($"{_hero.Name} threw the {_toy} up high. Oh no! The {_toy} got stuck {high}.");
        S($"{_hero.Name} jumped and jumped, but {_hero.He} could not reach it. {Cap(_hero.He)} felt {_rng.Pick(["sad", "upset", "worried"])}.");
        if (_friend.CanFly)
        {
            Say(_friend, "I can help you! I can fly!");
            S($"{_friend.Name} flew up {_rng.Pick(V.Adverbs)} and pushed the {_toy} down with {_friend.His} wings.");
        }
        else
        {
            S($"Then {_hero.Name} had an idea.");
            Say(_hero, $"Let's ask my {_grownup}. {Cap(GrownupHe)} is very tall.");
            S($"They ran home and told {_hero.His} {_grownup} about the {_toy}.");
            S($"{_hero.His} {_grownup} got a long ladder and climbed up {_rng.Pick(V.Adverbs)}. {Cap(GrownupHe)} got the {_toy} down.");
        }
        Say(_hero, $"Thank you so much!");
        Paragraph();
        _summary = $"{_hero.Name}'s {_toy} gets stuck {high}, and with a little help it comes back down.";
        if (_rng.Chance(0.7)) Moral(_rng.Pick(["it is okay to ask for help", "working together makes hard things easy"]));
        else HappyEnding();
    }

    private void Sharing()
    {
        _verb = "share";
        _features.Add("Conflict");
        S($"{_hero.Name} had {A(_rng.Pick(V.ThingAdjectives) + " " + _toy)}. {Cap(_hero.He)} played with it all the time.");
        S($"{_friend.Name} wanted to play with it too.");
        Say(_friend, $"Can I play with your {_toy}?");
        Say(_hero, "No, it is mine!", _rng.Chance(0.5) ? "shouted" : "said");
        S($"{_friend.Name} felt {_rng.Pick(["sad", "lonely", "upset"])} and walked away {_rng.Pick(["slowly", "sadly", "quietly"])}.");
        S($"{_hero.Name} played with the {_toy} alone, but it was not fun anymore. {Cap(_hero.He)} felt sorry.");
        S($"{Cap(_hero.He)} went to {_friend.Name} and said, \"I am sorry. Let's play with my {_toy} together.\"");
        S($"{_friend.Name} smiled. They {_rng.Pick(V.Activities).Past} and took turns with the {_toy} all afternoon.");
        Paragraph();
        _summary = $"{_hero.Name} does not want to share {_hero.His} {_toy}, but learns that playing together is better.";
        Moral(_rng.Pick(["sharing makes everyone happy", "playing together is more fun than playing alone", "saying sorry can fix a lot"]));
    }

    private void RainyPicnic()
    {
        _verb = "pack";
        _features.Add("Twist");
        string f1 = _rng.Pick(V.Foods), f2 = _rng.PickOther(V.Foods, f1), f3 = _rng.PickOther(V.Foods, f2);
        S($"{Both} wanted to have a picnic {_place.Preposition} {_place.Noun}.");
        S($"They packed {List(f1, f2, f3)} in a big basket.");
        S($"But then, dark clouds came. Big drops of rain began to fall.");
        Say(_hero, "Oh no! Our picnic!", "cried");
        S($"They ran home as fast as they could. {_hero.Name} looked out of the window. {Cap(_hero.He)} was {_rng.Pick(["sad", "grumpy", "upset"])}.");
        S($"Then {_hero.His} {_grownup} had an idea.");
        Say(Grownup(), "Let's have a picnic inside!");
        S($"They put {A(_rng.Pick(V.Colors))} blanket on the floor and ate the {f1} and the {f2}. It was so much fun.");
        S($"When the rain stopped, they saw a big rainbow in the sky.");
        Paragraph();
        _summary = $"Rain spoils a picnic, so {_hero.Name} and {_friend.Name} have it inside instead.";
        if (_rng.Chance(0.5)) Moral("a little patience goes a long way");
        else HappyEnding();
    }

    private void Fear()
    {
        _verb = "hold";
        _features.Add("Conflict");
        string scary = _rng.Pick(V.ScaryThings);
        S($"But {_friend.Name} was scared of {scary}.");
        Say(_friend, $"I do not like {scary}. I feel so {_rng.Pick(["scared", "nervous", "worried"])}.", "whispered");
        S($"{_hero.Name} held {_friend.Name}'s {_friend.Hand}.");
        Say(_hero, "Do not be scared. I am here with you.");
        S($"They took a deep breath and counted to three. One, two, three!");
        S($"Slowly, {_friend.Name} felt {_rng.Pick(["brave", "calm", "better"])}.");
        Say(_friend, "It is not so scary after all!", "laughed");
        Paragraph();
        _summary = $"{_friend.Name} is scared of {scary}, and {_hero.Name} helps {_friend.Him} be brave.";
        if (_rng.Chance(0.7)) Moral(_rng.Pick(["being brave is not the same as not being scared", "new things are not so scary when you try them", "a good friend helps when things go wrong"]));
        else HappyEnding();
    }

    private void HurtAnimal()
    {
        _verb = "help";
        var animal = _rng.Pick(V.Animals);
        while (animal.Noun == _friend.Kind || animal.Noun == _hero.Kind) animal = _rng.Pick(V.Animals);
        bool flies = animal.Move == "flew";
        string part = flies ? "wing" : "leg";
        S($"{Both} saw a little {animal.Noun} {_rng.Pick(V.HidingSpots)}. Its {part} was hurt.");
        Say(_hero, $"Poor little {animal.Noun}! We have to help it.");
        S($"{_hero.Name} picked it up {_rng.Pick(["gently", "carefully", "softly"])} and took it home.");
        S($"{_hero.His} {_grownup} helped {_hero.Him} make a soft bed in a box. They gave the {animal.Noun} water and some {animal.Food}.");
        S($"Every day, {_hero.Name} and {_friend.Name} took care of the {animal.Noun}.");
        S(flies
            ? $"After a few days, the {animal.Noun} could fly again. It {animal.Sound} and flew up into the sky."
            : $"After a few days, the {animal.Noun} could walk again. It {animal.Sound} and {animal.Move} back home.");
        Say(_hero, $"Goodbye, little {animal.Noun}!", "called");
        Paragraph();
        _summary = $"{_hero.Name} and {_friend.Name} care for a hurt {animal.Noun} until it is well again.";
        Moral(_rng.Pick(["taking care of animals is important", "kindness is never wasted", "even a tiny act of kindness matters", "being gentle is better than being rough"]));
    }

    private void BrokenAndHonest()
    {
        _verb = "break";
        _features.Add("Conflict");
        string precious = _rng.Pick(["vase", "lamp", "cup", "plate", "mirror", "clock", "bowl", "teapot"]);
        S($"Later, {_hero.Name} was playing with a ball in the house with {_friend.Name}.");
        S($"{_hero.His} {_grownup} had said, \"Do not play with the ball inside.\" But {_hero.Name} did not listen.");
        S($"The ball hit the {_rng.Pick(V.Colors)} {precious} and it broke into many pieces!");
        S($"{_hero.Name} was scared. {Cap(_hero.He)} wanted to hide the pieces {_rng.Pick(["under the bed", "behind the couch", "under the rug", "in the toy box", "under a pillow"])}.");
        S($"Then {_hero.He} thought about it. {Cap(_hero.He)} went to {_hero.His} {_grownup} and said, \"I am sorry. I broke your {precious}.\"");
        S($"{_hero.His} {_grownup} gave {_hero.Him} a hug.");
        Say(Grownup(), "Thank you for telling me the truth. We can fix it together.");
        S($"They glued the {precious} back together, and {_hero.Name} felt much better.");
        Paragraph();
        _summary = $"{_hero.Name} breaks {A(precious)} and chooses to tell the truth.";
        Moral(_rng.Pick(["telling the truth is always best", "saying sorry can fix a lot", "everyone makes mistakes, and that is okay", "it is important to listen to your mom and dad"]));
    }

    private void Baking()
    {
        _verb = "bake";
        var (treat, name, plural) = _rng.Pick(Treats);
        string[] ingredients = name == "soup" ? V.SoupIngredients : V.Ingredients;
        string i1 = _rng.Pick(ingredients), i2 = _rng.PickOther(ingredients, i1), i3 = _rng.PickOther(ingredients, i2);
        S($"{_hero.Name} wanted to make {A(treat)} for {_friend.Name}. {Cap(_hero.He)} asked {_hero.His} {_grownup} to help.");
        S($"They put {List(i1, i2, i3)} in a big {(name == "soup" ? "pot" : "bowl")}.");
        S($"{_hero.Name} mixed and mixed. Some {i1} fell on the floor, and they both laughed.");
        S($"Then they put it {(name == "soup" ? "on the stove" : "in the oven")}. Soon the kitchen smelled {_rng.Pick(["sweet", "warm", "yummy", "so good"])}.");
        S($"{_hero.Name} gave {_friend.Name} {(name == "soup" ? "a big bowl" : plural ? "the biggest one" : "a big piece")}.");
        Say(_friend, plural ? $"Yum! These are the best {name} ever!" : $"Yum! This is the best {name} ever!", "exclaimed");
        S($"{_hero.Name} felt proud. Making something for a friend was the best feeling.");
        Paragraph();
        _summary = $"{_hero.Name} bakes {A(treat)} with {_hero.His} {_grownup} and shares it with {_friend.Name}.";
        if (_rng.Chance(0.6)) Moral(_rng.Pick(["sharing makes everyone happy", "it is good to be thankful for what you have", "helping at home is fun"]));
        else HappyEnding();
    }

    private void Race()
    {
        _verb = "race";
        _features.Add("Conflict");
        string goal = _rng.Pick(["the big tree", "the fence", "the red barn", "the old bridge", "the top of the hill", "the swings"]);
        Say(_friend, $"Let's have a race to {goal}!");
        Say(_hero, "Ready, set, go!", "shouted");
        S($"They ran as fast as they could. {_hero.Name} was winning.");
        S($"But then {_friend.Name} tripped and fell. \"Ouch! My {(_friend.IsAnimal ? _friend.Hand : "knee")}!\" {_friend.Name} cried.");
        S($"{_hero.Name} stopped running. {Cap(_hero.He)} went back to help {_friend.Name} get up.");
        Say(_hero, "Are you okay? We can walk together.");
        S($"They walked to {goal} side by side. \"We both win,\" said {_hero.Name}.");
        Paragraph();
        _summary = $"{_hero.Name} stops in the middle of a race to help {_friend.Name}.";
        Moral(_rng.Pick(["it is better to be kind than to win", "a good friend helps when things go wrong"]));
    }

    private void Planting()
    {
        _verb = "grow";
        string plant = _rng.Pick(["sunflower", "tomato plant", "pumpkin", "apple tree", "rose bush", "bean plant", "carrot"]);
        S($"{Both} planted a tiny seed in the {_rng.Pick(["garden", "backyard", "yard", "big pot"])}.");
        S($"Every day, they gave it water. But nothing happened.");
        Say(_friend, "Why is it not growing?");
        Say(_hero, "We have to wait. Plants grow slowly.");
        S($"A little {_rng.Pick(V.Bugs)} came to look at the little seed. It did not know why they were waiting either.");
        S($"They waited and waited. Then one {_rng.Pick(V.Weather)} morning, a little green sprout came up!");
        S($"It grew and grew until it was a big {plant}. {Both} danced around it.");
        Paragraph();
        _summary = $"{_hero.Name} and {_friend.Name} plant a seed and wait until it becomes {A(plant)}.";
        Moral(_rng.Pick(["a little patience goes a long way", "trying again is how you get better", "the best things in life are free"]));
    }

    private void TreasureMap()
    {
        _verb = "dig";
        _features.Add("Twist");
        string treasure = _rng.Pick(["shiny coins", "pretty stones", "old toys", "a golden key", "a box of crayons", "a little music box"]);
        S($"{_hero.Name} found an old map {_rng.Pick(V.HidingSpots)}.");
        Say(_hero, "Look! A treasure map!", "exclaimed");
        S($"{Both} followed the map. They walked past {_place.Sights[0]} and {_place.Sights[1]}.");
        S($"At last they came to a big X. They dug and dug with a {_rng.Pick(["shovel", "stick", "spoon", "bucket"])}.");
        S($"They found a box! Inside the box were {treasure}.");
        if (_rng.Chance(0.5))
        {
            S($"But then a little note fell out. It said: \"The real treasure is a good friend.\"");
            S($"{_hero.Name} looked at {_friend.Name} and smiled.");
            _summary = $"{_hero.Name} and {_friend.Name} follow a treasure map and find that friendship is the real treasure.";
            Paragraph();
            Moral("friends are the best treasure");
        }
        else
        {
            S($"They shared the treasure and took it home to show {_hero.His} {_grownup}.");
            _summary = $"{_hero.Name} and {_friend.Name} follow a treasure map and find {treasure}.";
            Paragraph();
            HappyEnding();
        }
    }

    private void DidNotListen()
    {
        _verb = "listen";
        _features.Add("BadEnding");
        string water = _rng.Pick(["river", "lake", "pond", "sea"]);
        S($"{_hero.Name} wanted to play near the {water} with {_hero.His} {_toy}.");
        S($"{_hero.His} {_grownup} said, \"Stay away from the {water}. It is not safe.\"");
        S($"But {_hero.Name} did not listen. {Cap(_hero.He)} ran to the {water} with {_friend.Name}.");
        S($"{_hero.Name} threw the {_toy} high in the air. It fell into the water with a big splash!");
        S($"The water carried the {_toy} far away. {_hero.Name} could not get it back.");
        S($"{_hero.Name} cried and cried. {Cap(_hero.He)} never saw {_hero.His} {_toy} again.");
        S($"{Cap(_hero.He)} wished {_hero.He} had listened to {_hero.His} {_grownup}.");
        Paragraph();
        _summary = $"{_hero.Name} does not listen, plays near the {water} and loses {_hero.His} {_toy}.";
        Moral(_rng.Pick(["it is important to listen to your mom and dad", "you should always be careful near water", "rules keep us safe"]));
    }

    private static readonly (string Treat, string Name, bool Plural)[] Treats =
    [
        ("cake", "cake", false), ("pie", "pie", false), ("batch of cookies", "cookies", true), ("pot of soup", "soup", false),
        ("loaf of bread", "bread", false), ("plate of muffins", "muffins", true), ("tray of cupcakes", "cupcakes", true),
    ];

    private void ZooVisit()
    {
        _verb = "visit";
        var a1 = _rng.Pick(V.Animals);
        var a2 = _rng.PickOther(V.Animals, a1);
        var a3 = _rng.PickOther(V.Animals, a2);
        S($"The next day, {_hero.Name} and {_friend.Name} went to the {_rng.Pick(["zoo", "farm", "animal park"])} with {_hero.His} {_grownup}.");
        S($"They saw {List(Plural(a1.Noun), Plural(a2.Noun), Plural(a3.Noun))}.");
        S($"The {Plural(a1.Noun)} {a1.Sound}. The {Plural(a2.Noun)} {a2.Move} around. One of the {Plural(a3.Noun)} looked right at {_hero.Name}!");
        Say(_friend, $"Look! The {a3.Noun} likes you!", "laughed");
        S($"A kind zookeeper let them give the {Plural(a1.Noun)} some {a1.Food}.");
        S($"{_hero.Name} was a little {_rng.Pick(["scared", "nervous", "shy"])} at first, but then {_hero.He} held out {_hero.His} {_hero.Hand} {_rng.Pick(V.Adverbs)}.");
        S($"The {a1.Noun} ate the {a1.Food} and {a1.Sound} happily. Everyone clapped.");
        Paragraph();
        _summary = $"{_hero.Name} and {_friend.Name} visit the {Plural(a1.Noun)}, {Plural(a2.Noun)} and {Plural(a3.Noun)} and feed the {Plural(a1.Noun)}.";
        if (_rng.Chance(0.5)) Moral(_rng.Pick(["new things are not so scary when you try them", "being gentle is better than being rough"]));
        else HappyEnding();
    }

    private void DreamJob()
    {
        _verb = "dream";
        var (job, does, needs) = _rng.Pick(V.JobDeeds);
        S($"{_hero.Name} had a big dream. {Cap(_hero.He)} wanted to be {A(job)}.");
        Say(_friend, $"What does {A(job)} do?");
        Say(_hero, $"{Cap(A(job))} {does}. I want to do that too!");
        S($"So they played pretend. {_hero.Name} used {A(_rng.Pick(V.ThingAdjectives) + " " + _rng.Pick(V.Toys))} as {needs}.");
        S($"{_friend.Name} laughed, but then {_friend.He} wanted to play too. They played all day, {_rng.Pick(["in the backyard", "in the living room", "under the big tree", "in a cardboard box"])}.");
        S($"When {_hero.His} {_grownup} saw them, {GrownupHe} smiled and said, \"One day you will be a great {job}.\"");
        Paragraph();
        _summary = $"{_hero.Name} dreams of being {A(job)} and plays pretend with {_friend.Name}.";
        if (_rng.Chance(0.6)) Moral(_rng.Pick(["you should never give up", "being different is a good thing", "trying again is how you get better"]));
        else HappyEnding();
    }

    private void SnowyDay()
    {
        _verb = "build";
        string c1 = _rng.Pick(V.Clothes), c2 = _rng.PickOther(V.Clothes, c1), c3 = _rng.PickOther(V.Clothes, c2);
        S($"It was a cold winter day. White snow covered the ground like a soft blanket.");
        S($"{_hero.Name} put on {_hero.His} {List(c1, c2, c3)}.");
        Say(_hero, "Let's build a snowman!", "shouted");
        S($"{Both} rolled a big ball of snow, then a smaller one, then a tiny one for the head.");
        S($"They gave the snowman a carrot nose, two {_rng.Pick(["button", "pebble", "coal", "cookie"])} eyes and {_hero.His} {_rng.Pick(["scarf", "hat", "mittens"])}.");
        S($"But the sun came out, and the snowman began to melt. {_hero.Name} felt {_rng.Pick(["sad", "upset", "worried"])}.");
        Say(_friend, "Do not be sad. It will snow again, and we can build a new one.");
        S($"{_hero.Name} smiled. They went inside and drank warm {_rng.Pick(["cocoa", "milk", "tea", "soup"])} by the fire.");
        Paragraph();
        _summary = $"{_hero.Name} and {_friend.Name} build a snowman that melts in the sun.";
        if (_rng.Chance(0.5)) Moral(_rng.Pick(["it is good to be thankful for what you have", "a little patience goes a long way"]));
        else HappyEnding();
    }

    private void Music()
    {
        _verb = "play";
        var (instrument, sound) = _rng.Pick(V.Instruments);
        var (other, otherSound) = _rng.Pick(V.Instruments);
        if (other == instrument) (other, otherSound) = ("bell", "ding, ding");
        S($"{_hero.Name} found an old {instrument} in {_rng.Pick(["the attic", "a big box", "grandma's house", "the closet"])}.");
        S($"{Cap(_hero.He)} played it. It went \"{Cap(sound)}!\"");
        S($"{_friend.Name} came running. \"What is that noise?\" {_friend.He} asked.");
        Say(_hero, "It is music! Do you want to play with me?");
        S($"{_friend.Name} got {A(other)}. It went \"{Cap(otherSound)}!\"");
        S($"At first the music was too loud and very messy. Then they listened to each other and played slowly.");
        S($"Soon their song sounded {_rng.Pick(["beautiful", "wonderful", "lovely", "happy"])}. Even the birds came to listen.");
        Paragraph();
        _summary = $"{_hero.Name} plays the {instrument} and {_friend.Name} the {other}, and they learn to play together.";
        if (_rng.Chance(0.6)) Moral(_rng.Pick(["working together makes hard things easy", "playing together is more fun than playing alone", "listening carefully helps you learn"]));
        else HappyEnding();
    }

    private void BeachDay()
    {
        _verb = "collect";
        string f1 = _rng.Pick(V.BeachFinds), f2 = _rng.PickOther(V.BeachFinds, f1);
        string bug = _rng.Pick(V.Bugs);
        S($"In the summer, {_hero.Name} went to the beach with {_friend.Name}.");
        S($"The sand was warm and the waves went swish, swish. They found {f1} and {f2}.");
        S($"They built a big sandcastle with a moat and a flag on top. Then {A(bug)} landed on the flag.");
        Say(_friend, $"Look, {A(bug)}! It likes our castle.");
        S($"Suddenly a big wave came and washed the sandcastle away!");
        Say(_hero, "Oh no! Our castle!", "cried");
        S($"Then {_hero.He} laughed. \"We can build an even bigger one,\" {_hero.He} said. And they did.");
        Paragraph();
        _summary = $"{_hero.Name} and {_friend.Name} build a sandcastle, lose it to a wave and build a bigger one.";
        if (_rng.Chance(0.6)) Moral(_rng.Pick(["trying again is how you get better", "you should never give up", "laughing together makes friends closer"]));
        else HappyEnding();
    }

    /// <summary>The hero's grown-up as a speaker: "Mom said" (a name), "her grandma said" (not one).</summary>
    private Actor Grownup()
    {
        var child = new Child(_grownup is "mom" or "dad" ? Cap(_grownup) : $"{_hero.His} {_grownup}", GrownupHe == "she");
        return Actor.FromChild(child);
    }
}
