namespace TinyLlm.MLNet.Stories.Synthetic;

/// <summary>A child of the story: a name and whether the story says "she" or "he".</summary>
internal sealed record Child(string Name, bool IsGirl);

/// <summary>An animal: its noun, the sound it made and how it moved (both past tense), and what it likes to eat.</summary>
internal sealed record Animal(string Noun, string Sound, string Move, string Food);

/// <summary>A place, the preposition it takes ("in the park", "at the beach") and things one sees there.</summary>
internal sealed record Place(string Noun, string Preposition, string[] Sights);

/// <summary>A verb phrase in its base form ("fly a kite") and its past form ("flew a kite").</summary>
internal sealed record Activity(string Base, string Past);

/// <summary>
/// The word lists of the synthetic-story grammar: the simple, concrete vocabulary of TinyStories (words a
/// three-year-old knows), with enough variety that a tokenizer and a model have something to learn.
/// </summary>
internal static class Vocabulary
{
    public static readonly Child[] Girls =
    [
        new("Lily", true), new("Mia", true), new("Sue", true), new("Amy", true), new("Anna", true), new("Emma", true),
        new("Lucy", true), new("Sara", true), new("Zoe", true), new("Ella", true), new("Daisy", true), new("Rosie", true),
        new("Molly", true), new("Kate", true), new("Jane", true), new("Lola", true), new("Ruby", true), new("Sophie", true),
        new("Grace", true), new("Chloe", true), new("Ivy", true), new("Nora", true), new("Julia", true), new("Maya", true),
        new("Hannah", true), new("Olivia", true), new("Bella", true), new("Poppy", true), new("Clara", true), new("Alice", true),
        new("Susie", true), new("Jenny", true), new("Katie", true), new("Abby", true), new("Lisa", true), new("Tina", true),
        new("Eva", true), new("Lena", true), new("Nina", true), new("Penny", true), new("Holly", true), new("Milly", true),
        new("Gina", true), new("Beth", true), new("Wendy", true), new("Hazel", true), new("Iris", true), new("Megan", true),
    ];

    public static readonly Child[] Boys =
    [
        new("Tom", false), new("Ben", false), new("Max", false), new("Sam", false), new("Tim", false), new("Jack", false),
        new("Leo", false), new("Joe", false), new("Bob", false), new("Jake", false), new("Finn", false), new("Noah", false),
        new("Luke", false), new("Ollie", false), new("Harry", false), new("Charlie", false), new("Danny", false), new("Billy", false),
        new("Timmy", false), new("Johnny", false), new("Mark", false), new("Peter", false), new("Alex", false), new("Henry", false),
        new("Oscar", false), new("Ryan", false), new("Eddie", false), new("Kevin", false), new("Jimmy", false), new("Mike", false),
        new("Roger", false), new("Bobby", false), new("Adam", false), new("Paul", false), new("Louis", false), new("George", false),
        new("Frank", false), new("Dylan", false), new("Toby", false), new("Andy", false), new("Carl", false), new("Evan", false),
        new("Gus", false), new("Hugo", false), new("Ian", false), new("Kyle", false), new("Nick", false), new("Zack", false),
    ];

    /// <summary>Names that animals are given ("My name is Spot").</summary>
    public static readonly string[] PetNames =
    [
        "Spot", "Fluffy", "Buddy", "Coco", "Sunny", "Pip", "Bubbles", "Whiskers", "Patch", "Bingo", "Rusty", "Ziggy",
        "Pebble", "Honey", "Peanut", "Biscuit", "Snowy", "Tiny", "Bouncy", "Dot", "Squeaky", "Button", "Cookie", "Mittens",
        "Shadow", "Sparky", "Fuzzy", "Nibbles", "Tango", "Waddles", "Mango", "Pickles", "Jelly", "Bean", "Socks", "Flash",
        "Twinkle", "Marshmallow", "Noodle", "Pumpkin", "Scout", "Rocky", "Daisy", "Goldie", "Ginger", "Pepper", "Chip",
        "Sprinkles", "Doodle", "Muffin", "Bubba", "Lucky", "Misty", "Pogo",
    ];

    public static readonly Animal[] Animals =
    [
        new("dog", "barked", "ran", "bones"), new("cat", "meowed", "ran", "fish"), new("bird", "chirped", "flew", "seeds"),
        new("frog", "croaked", "hopped", "flies"), new("bunny", "squeaked", "hopped", "carrots"), new("duck", "quacked", "waddled", "bread crumbs"),
        new("puppy", "yipped", "ran", "treats"), new("kitten", "mewed", "ran", "milk"), new("mouse", "squeaked", "scurried", "cheese"),
        new("bear", "growled", "walked", "honey"), new("fox", "yelped", "trotted", "berries"), new("owl", "hooted", "flew", "bugs"),
        new("squirrel", "chattered", "climbed", "nuts"), new("turtle", "yawned", "crawled", "leaves"), new("fish", "blew bubbles", "swam", "worms"),
        new("horse", "neighed", "galloped", "hay"), new("cow", "mooed", "walked", "grass"), new("pig", "oinked", "trotted", "apples"),
        new("sheep", "baaed", "walked", "grass"), new("goat", "bleated", "jumped", "grass"), new("chicken", "clucked", "ran", "corn"),
        new("lion", "roared", "ran", "meat"), new("tiger", "roared", "ran", "meat"), new("elephant", "trumpeted", "stomped", "peanuts"),
        new("monkey", "chattered", "swung", "bananas"), new("giraffe", "hummed", "walked", "leaves"), new("zebra", "brayed", "galloped", "grass"),
        new("penguin", "squawked", "waddled", "fish"), new("seal", "barked", "slid", "fish"), new("whale", "sang", "swam", "tiny shrimp"),
        new("dolphin", "clicked", "swam", "fish"), new("snail", "sighed", "crawled", "lettuce"), new("butterfly", "fluttered", "flew", "nectar"),
        new("bee", "buzzed", "flew", "nectar"), new("ladybug", "giggled", "flew", "tiny bugs"), new("ant", "whispered", "marched", "crumbs"),
        new("spider", "whispered", "crawled", "flies"), new("worm", "wiggled", "wiggled", "dirt"), new("deer", "snorted", "leaped", "grass"),
        new("wolf", "howled", "ran", "meat"), new("raccoon", "chattered", "scampered", "berries"), new("hedgehog", "sniffed", "scurried", "bugs"),
        new("parrot", "squawked", "flew", "seeds"), new("goose", "honked", "waddled", "grass"), new("swan", "hissed", "glided", "weeds"),
        new("crab", "clicked", "scuttled", "seaweed"), new("octopus", "gurgled", "swam", "crabs"), new("kangaroo", "grunted", "bounced", "grass"),
        new("koala", "yawned", "climbed", "leaves"), new("panda", "grunted", "rolled", "bamboo"), new("hamster", "squeaked", "scurried", "seeds"),
        new("lamb", "baaed", "skipped", "grass"), new("pony", "neighed", "trotted", "oats"), new("donkey", "brayed", "trotted", "hay"),
        new("beaver", "chattered", "swam", "wood"), new("otter", "squeaked", "swam", "clams"), new("camel", "grunted", "walked", "dates"),
        new("dragon", "roared", "flew", "peppers"), new("dinosaur", "roared", "stomped", "leaves"), new("unicorn", "neighed", "galloped", "flowers"),
        new("robin", "sang", "flew", "worms"), new("crow", "cawed", "flew", "corn"), new("bat", "squeaked", "flew", "bugs"),
        new("moose", "bellowed", "walked", "plants"), new("mole", "sniffed", "dug", "worms"), new("lizard", "hissed", "darted", "bugs"),
        new("flamingo", "honked", "waded", "shrimp"), new("peacock", "screeched", "strutted", "seeds"), new("rhino", "snorted", "charged", "grass"),
        new("hippo", "grunted", "wallowed", "melons"), new("gorilla", "grunted", "climbed", "fruit"), new("cheetah", "purred", "sprinted", "meat"),
        new("jellyfish", "wobbled", "drifted", "plankton"), new("seahorse", "clicked", "bobbed", "tiny shrimp"), new("toad", "croaked", "hopped", "beetles"),
        new("woodpecker", "tapped", "flew", "insects"), new("hen", "clucked", "pecked", "grain"), new("rooster", "crowed", "strutted", "corn"),
        new("squid", "squirted", "swam", "fish"), new("walrus", "bellowed", "flopped", "clams"), new("polar bear", "growled", "padded", "fish"),
    ];

    public static readonly string[] CharacterAdjectives =
    [
        "happy", "kind", "brave", "shy", "curious", "little", "friendly", "silly", "clever", "gentle", "cheerful", "playful",
        "smart", "funny", "sweet", "helpful", "polite", "busy", "quiet", "lively", "careful", "truthful", "lonely", "sleepy",
        "grumpy", "proud", "bold", "calm", "caring", "jolly", "eager", "lazy", "bright", "tiny", "young", "bouncy",
        "fast", "slow", "strong", "wise", "fluffy", "hungry", "chubby", "clumsy", "excited", "giggly", "patient", "loyal",
        "thoughtful", "generous", "adventurous", "noisy", "tidy", "messy", "cuddly", "sneaky", "daring", "dreamy",
    ];

    public static readonly string[] ThingAdjectives =
    [
        "shiny", "soft", "big", "small", "old", "new", "round", "fluffy", "sparkly", "pretty", "tiny", "huge", "smooth",
        "bumpy", "heavy", "light", "fancy", "special", "magic", "strong", "long", "short", "warm", "cozy", "bright",
        "colorful", "striped", "spotted", "wooden", "plastic", "golden", "silver", "squishy", "fuzzy", "noisy", "funny",
        "sticky", "shimmering", "glowing", "dusty", "rusty", "clean", "dirty", "broken", "perfect", "lovely", "wonderful",
        "beautiful", "sharp", "curly", "wiggly", "slippery", "crunchy", "tall", "flat", "hollow", "delicate", "ancient",
    ];

    public static readonly string[] Colors =
    [
        "red", "blue", "green", "yellow", "pink", "purple", "orange", "white", "black", "brown", "gray", "gold", "silver",
        "rainbow", "sky blue", "bright red", "violet", "turquoise", "lime green", "crimson", "navy blue", "peach",
        "lavender", "cream", "scarlet",
    ];

    /// <summary>Things a child owns, plays with, loses and shares.</summary>
    public static readonly string[] Toys =
    [
        "ball", "kite", "doll", "teddy bear", "toy car", "toy train", "red wagon", "balloon", "puzzle", "drum", "whistle",
        "yo-yo", "jump rope", "spinning top", "toy boat", "toy plane", "robot", "blanket", "hat", "scarf", "crown",
        "necklace", "bracelet", "ring", "book", "crayon", "paintbrush", "bucket", "shovel", "bike", "scooter", "skateboard",
        "sled", "umbrella", "backpack", "lunchbox", "cup", "spoon", "box", "basket", "rock", "shell", "feather", "stick",
        "block", "marble", "puppet", "flag", "map", "key", "coin", "bell", "mirror", "lamp", "pillow", "sock", "shoe",
        "boot", "mitten", "glove", "jacket", "dress", "button", "ribbon", "bow", "rope", "net", "toy truck", "toy horse",
        "stuffed bunny", "music box", "treasure chest", "jar", "pot", "bowl", "watch", "clock", "flashlight", "camera",
        "guitar", "flute", "piano", "trumpet", "violin", "harmonica", "sticker", "stamp", "pencil", "notebook", "card",
        "letter", "present", "candle", "wand", "cape", "mask", "sword", "shield", "star", "gem", "pearl", "acorn",
        "telescope", "compass", "magnet", "umbrella hat", "toy rocket", "dollhouse", "rocking horse", "xylophone",
        "tea set", "toy castle", "puzzle box", "snow globe", "pinwheel", "kaleidoscope", "wind chime", "piggy bank",
        "sailboat", "race car", "fire engine", "dinosaur toy", "magnifying glass", "sticker book", "coloring book",
        "paint set", "clay", "bubble wand", "hula hoop", "pogo stick", "trampoline", "tricycle", "toy drum",
    ];

    public static readonly Place[] Places =
    [
        new("park", "in the", ["tall trees", "a big slide", "green grass", "a swing set"]),
        new("garden", "in the", ["pretty flowers", "red tomatoes", "busy bees", "a little pond"]),
        new("forest", "in the", ["tall trees", "soft moss", "wild berries", "a quiet stream"]),
        new("beach", "at the", ["soft sand", "blue waves", "pretty shells", "a big sandcastle"]),
        new("lake", "by the", ["calm water", "green reeds", "a wooden dock", "little fish"]),
        new("farm", "on the", ["a red barn", "a muddy pen", "fields of corn", "a big tractor"]),
        new("zoo", "at the", ["many cages", "a big pond", "tall fences", "a food stand"]),
        new("school", "at", ["a big yard", "colorful desks", "a chalkboard", "a reading corner"]),
        new("library", "at the", ["tall shelves", "many books", "soft chairs", "a quiet room"]),
        new("meadow", "in the", ["yellow flowers", "tall grass", "buzzing bees", "a little hill"]),
        new("river", "by the", ["fast water", "smooth stones", "a wooden bridge", "green frogs"]),
        new("mountain", "on the", ["big rocks", "cold snow", "a winding path", "a tall cliff"]),
        new("playground", "at the", ["a sandbox", "a seesaw", "monkey bars", "a tall slide"]),
        new("backyard", "in the", ["a big tree", "a vegetable patch", "a wooden fence", "a sandbox"]),
        new("kitchen", "in the", ["a warm oven", "a big table", "shiny pots", "a bowl of fruit"]),
        new("town", "in the", ["busy streets", "small shops", "a bakery", "a tall clock tower"]),
        new("market", "at the", ["fresh fruit", "busy stalls", "loud sellers", "baskets of bread"]),
        new("jungle", "in the", ["tall vines", "big leaves", "loud parrots", "a hidden waterfall"]),
        new("cave", "in the", ["dark corners", "drippy rocks", "a little bat", "a cool breeze"]),
        new("field", "in the", ["tall grass", "wild flowers", "a scarecrow", "a long fence"]),
        new("pond", "by the", ["lily pads", "croaking frogs", "a family of ducks", "cattails"]),
        new("hill", "on the", ["soft grass", "a lonely tree", "a nice view", "a winding path"]),
        new("castle", "in the", ["tall towers", "a big gate", "long halls", "a throne"]),
        new("bakery", "at the", ["warm bread", "sweet cakes", "a glass counter", "a big oven"]),
        new("toy store", "at the", ["shelves of toys", "bright lights", "a train set", "a big teddy bear"]),
        new("island", "on the", ["palm trees", "white sand", "coconuts", "clear water"]),
        new("barn", "in the", ["piles of hay", "sleepy cows", "a tall ladder", "a rusty tractor"]),
        new("swimming pool", "at the", ["blue water", "a diving board", "floaty toys", "a lifeguard"]),
        new("camp", "at the", ["tents", "a campfire", "tall pine trees", "a lake"]),
        new("neighborhood", "in the", ["friendly houses", "a long sidewalk", "a mailbox", "a lemonade stand"]),
        new("orchard", "in the", ["rows of apple trees", "ripe pears", "wooden ladders", "buzzing wasps"]),
        new("desert", "in the", ["golden dunes", "a prickly cactus", "hot sand", "a tiny oasis"]),
        new("harbor", "at the", ["bobbing boats", "noisy seagulls", "a tall lighthouse", "fishing nets"]),
        new("museum", "at the", ["dinosaur bones", "shiny statues", "old paintings", "a giant whale skeleton"]),
        new("circus", "at the", ["a striped tent", "juggling clowns", "acrobats", "a popcorn cart"]),
        new("valley", "in the", ["a winding creek", "grazing cows", "purple heather", "misty hills"]),
        new("treehouse", "in the", ["a rope ladder", "a tiny window", "a secret door", "comic books"]),
        new("attic", "in the", ["dusty boxes", "old trunks", "cobwebs", "a round window"]),
        new("station", "at the", ["a ticking clock", "long benches", "puffing trains", "a ticket booth"]),
        new("snowy woods", "in the", ["frosty pine trees", "icicles", "deep snow", "rabbit tracks"]),
    ];

    public static readonly Activity[] Activities =
    [
        new("play with blocks", "played with blocks"), new("draw pictures", "drew pictures"), new("sing songs", "sang songs"),
        new("dance", "danced"), new("read books", "read books"), new("run and jump", "ran and jumped"),
        new("fly a kite", "flew a kite"), new("build sandcastles", "built sandcastles"), new("paint", "painted"),
        new("play hide and seek", "played hide and seek"), new("ride a bike", "rode a bike"), new("swim", "swam"),
        new("pick flowers", "picked flowers"), new("climb trees", "climbed trees"), new("play tag", "played tag"),
        new("bake cookies", "baked cookies"), new("look at the stars", "looked at the stars"), new("splash in puddles", "splashed in puddles"),
        new("play on the swings", "played on the swings"), new("collect shells", "collected shells"), new("watch the clouds", "watched the clouds"),
        new("make mud pies", "made mud pies"), new("play dress up", "played dress up"), new("skip rope", "skipped rope"),
        new("blow bubbles", "blew bubbles"), new("play catch", "played catch"), new("feed the ducks", "fed the ducks"),
        new("plant seeds", "planted seeds"), new("tell jokes", "told jokes"), new("go for walks", "went for walks"),
        new("play the drum", "played the drum"), new("roll down hills", "rolled down hills"), new("chase butterflies", "chased butterflies"),
        new("make paper boats", "made paper boats"), new("count the birds", "counted the birds"), new("play with puzzles", "played with puzzles"),
        new("hop like a frog", "hopped like a frog"), new("look for bugs", "looked for bugs"), new("help in the garden", "helped in the garden"),
        new("build a fort", "built a fort"), new("play pretend", "played pretend"), new("make funny faces", "made funny faces"),
        new("throw pebbles in the pond", "threw pebbles in the pond"), new("whistle a tune", "whistled a tune"),
        new("spin in circles", "spun in circles"), new("make a necklace of daisies", "made a necklace of daisies"),
        new("march like soldiers", "marched like soldiers"), new("stack cups", "stacked cups"), new("sort buttons", "sorted buttons"),
        new("wash the dishes", "washed the dishes"), new("sweep the floor", "swept the floor"), new("fold paper planes", "folded paper planes"),
        new("slide down the slide", "slid down the slide"), new("gaze at the moon", "gazed at the moon"),
        new("catch snowflakes", "caught snowflakes"), new("rake leaves", "raked leaves"), new("build a snowman", "built a snowman"),
        new("write letters", "wrote letters"), new("knit scarves", "knitted scarves"), new("juggle apples", "juggled apples"),
    ];

    public static readonly string[] Foods =
    [
        "apples", "bananas", "cookies", "cake", "bread", "cheese", "carrots", "grapes", "pears", "oranges", "pie",
        "soup", "pancakes", "muffins", "cupcakes", "candy", "ice cream", "sandwiches", "crackers", "berries", "plums",
        "peaches", "cherries", "popcorn", "noodles", "rice", "eggs", "honey", "jam", "juice", "milk", "lemonade",
        "pizza", "corn", "peas", "beans", "tomatoes", "watermelon", "strawberries", "blueberries", "pumpkin pie", "toast",
        "spaghetti", "cereal", "yogurt", "pretzels", "waffles", "lollipops", "donuts", "cucumbers", "broccoli", "mangoes",
        "lemons", "potatoes", "sausages", "biscuits", "porridge", "gumdrops", "raspberries", "kiwis",
    ];

    /// <summary>What can go in a cake or a pot of soup.</summary>
    public static readonly string[] Ingredients =
    [
        "flour", "sugar", "eggs", "butter", "milk", "a pinch of salt", "chocolate", "vanilla", "cinnamon", "honey", "nuts",
        "raisins", "lemon", "oats", "cream", "sprinkles", "berries", "coconut", "syrup", "ginger",
    ];

    public static readonly string[] SoupIngredients =
    [
        "carrots", "potatoes", "onions", "beans", "water", "salt", "celery", "peas", "noodles", "tomatoes", "garlic",
        "pepper", "mushrooms", "leeks", "corn",
    ];

    public static readonly string[] Feelings =
    [
        "happy", "sad", "scared", "angry", "excited", "proud", "worried", "surprised", "lonely", "tired", "brave",
        "calm", "glad", "upset", "nervous", "curious", "thankful", "sorry", "jealous", "grumpy", "cheerful", "shy",
    ];

    /// <summary>Hiding places, each a complete prepositional phrase.</summary>
    public static readonly string[] HidingSpots =
    [
        "under the bed", "behind the couch", "in the tall grass", "under a big rock", "behind a tree", "in the toy box",
        "under the table", "inside an old boot", "on top of the shelf", "near the fence", "in a pile of leaves",
        "under a bush", "in the mud", "behind the door", "inside a hollow log", "next to the pond", "under the stairs",
        "in the laundry basket", "beside the flower pot", "under a blanket", "inside the mailbox", "behind the curtains",
        "under the porch", "in the bathtub", "inside a coat pocket", "on the windowsill", "between two pillows",
        "under the slide", "beneath the bridge", "inside a flower pot",
    ];

    /// <summary>High places a thing can get stuck.</summary>
    public static readonly string[] HighPlaces =
    [
        "in a tall tree", "on the roof", "on top of the fence", "on a high shelf", "in the branches of an old oak",
        "on top of the shed", "on a tall lamp post",
    ];

    public static readonly string[] ScaryThings =
    [
        "the dark", "loud thunder", "the big waves", "the deep water", "a big barking dog", "the tall slide",
        "the noisy vacuum", "a spider on the wall", "the wind at night", "the shadows in the hall", "the first day of school",
        "the doctor", "bees", "the high swing", "the dark woods", "fireworks", "the creaky stairs", "the big crowd",
        "the thunderstorm", "the hairy caterpillar", "the loud fire truck", "monsters under the bed",
    ];

    public static readonly string[] Weather =
    [
        "sunny", "warm", "windy", "cold", "cloudy", "snowy", "bright", "rainy", "foggy", "hot", "breezy", "chilly",
    ];

    public static readonly string[] Seasons = ["spring", "summer", "fall", "winter"];

    public static readonly string[] Grownups = ["mom", "dad", "grandma", "grandpa", "aunt", "uncle", "teacher"];

    public static readonly string[] Jobs =
    [
        "doctor", "teacher", "firefighter", "pilot", "farmer", "baker", "painter", "singer", "dancer", "builder",
        "astronaut", "vet", "cook", "police officer", "zookeeper", "sailor", "scientist", "mail carrier",
    ];

    public static readonly string[] Adverbs =
    [
        "slowly", "quickly", "happily", "carefully", "gently", "quietly", "loudly", "softly", "bravely", "kindly",
        "proudly", "sadly", "eagerly", "politely", "calmly", "excitedly",
    ];

    /// <summary>Ways to say a plain sentence.</summary>
    public static readonly string[] SayVerbs = ["replied", "whispered", "smiled and said", "told them", "added"];

    /// <summary>Ways to say something with an exclamation mark.</summary>
    public static readonly string[] ExclaimVerbs = ["shouted", "exclaimed", "cried", "called", "laughed", "cheered", "yelled"];

    /// <summary>What makes a sunny day pretty.</summary>
    public static readonly string[] NatureSights =
    [
        "The sun was shining", "The birds were singing", "The flowers were blooming", "A soft wind was blowing",
        "The sky was blue and clear", "Big white clouds floated by", "The leaves danced in the breeze",
        "The grass was wet with dew", "Butterflies flew from flower to flower", "The bees were buzzing",
    ];

    /// <summary>Things one rides in ("ride in the bus").</summary>
    public static readonly string[] Vehicles =
    [
        "bus", "train", "boat", "car", "truck", "plane", "tractor", "fire truck", "rocket", "ship", "wagon", "canoe",
        "taxi", "van", "helicopter", "hot air balloon",
    ];

    /// <summary>Toys that can be thrown, carried off by a river or stuck in a tree.</summary>
    public static readonly string[] Throwables =
    [
        "ball", "kite", "balloon", "frisbee", "beach ball", "toy plane", "hat", "doll", "teddy bear", "shoe", "scarf",
        "paper plane", "toy boat", "rubber duck", "stuffed bunny", "football", "sock", "puppet",
    ];

    public static readonly string[] HouseAdjectives = ["small", "big", "cozy", "yellow", "white", "blue", "old", "little", "pretty", "warm"];

    /// <summary>What an animal says, by noun; animals not listed make no word-sound.</summary>
    public static readonly Dictionary<string, string> Calls = new()
    {
        ["dog"] = "Woof", ["puppy"] = "Woof", ["cat"] = "Meow", ["kitten"] = "Mew", ["bird"] = "Tweet", ["robin"] = "Tweet",
        ["frog"] = "Ribbit", ["duck"] = "Quack", ["cow"] = "Moo", ["pig"] = "Oink", ["sheep"] = "Baa", ["lamb"] = "Baa",
        ["horse"] = "Neigh", ["pony"] = "Neigh", ["owl"] = "Hoot", ["bee"] = "Buzz", ["lion"] = "Roar", ["tiger"] = "Roar",
        ["dragon"] = "Roar", ["dinosaur"] = "Roar", ["chicken"] = "Cluck", ["goose"] = "Honk", ["crow"] = "Caw",
        ["mouse"] = "Squeak", ["hamster"] = "Squeak", ["donkey"] = "Hee haw", ["wolf"] = "Awoo", ["snake"] = "Hiss",
        ["swan"] = "Hiss", ["monkey"] = "Ooh ooh", ["elephant"] = "Toot", ["goat"] = "Meh", ["parrot"] = "Hello",
    };

    /// <summary>Clothes for a cold or a rainy day.</summary>
    public static readonly string[] Clothes =
    [
        "coat", "hat", "scarf", "mittens", "boots", "raincoat", "sweater", "gloves", "earmuffs", "jacket", "socks",
        "hood", "snow pants", "woolly hat", "rain boots", "overalls", "vest", "cardigan",
    ];

    /// <summary>Instruments and the sound they make.</summary>
    public static readonly (string Instrument, string Sound)[] Instruments =
    [
        ("drum", "boom, boom"), ("bell", "ding, ding"), ("whistle", "tweet, tweet"), ("horn", "toot, toot"),
        ("trumpet", "ta-da"), ("guitar", "strum, strum"), ("piano", "plink, plonk"), ("tambourine", "jingle, jingle"),
        ("triangle", "ting, ting"), ("xylophone", "tink, tonk"), ("flute", "la, la"), ("maracas", "shake, shake"),
        ("violin", "squeak, squeak"), ("harmonica", "wheee"), ("cymbals", "crash, crash"),
    ];

    /// <summary>Jobs and what one does in them ("A doctor helps sick people feel better").</summary>
    public static readonly (string Job, string Does, string Needs)[] JobDeeds =
    [
        ("doctor", "helps sick people feel better", "a stethoscope"), ("firefighter", "puts out fires and saves cats", "a big red helmet"),
        ("pilot", "flies big planes above the clouds", "a captain's hat"), ("farmer", "grows food and feeds the animals", "a straw hat"),
        ("baker", "makes warm bread and sweet cakes", "an apron"), ("painter", "paints pictures full of color", "a paintbrush"),
        ("builder", "builds houses and bridges", "a hammer"), ("astronaut", "flies a rocket to the moon", "a space suit"),
        ("vet", "takes care of sick animals", "a little bag of medicine"), ("zookeeper", "feeds the lions and washes the elephants", "a bucket"),
        ("sailor", "sails a ship across the ocean", "a compass"), ("scientist", "mixes things to learn how the world works", "a magnifying glass"),
        ("mail carrier", "brings letters and packages to every house", "a big bag"), ("teacher", "helps children learn to read and count", "a box of chalk"),
        ("dancer", "twirls and leaps on a big stage", "ballet shoes"), ("singer", "sings songs for a happy crowd", "a microphone"),
        ("gardener", "plants seeds and waters flowers", "a watering can"), ("chef", "cooks yummy soup in a big pot", "a tall white hat"),
    ];

    /// <summary>Small creatures that visit a garden.</summary>
    public static readonly string[] Bugs =
    [
        "ladybug", "caterpillar", "grasshopper", "beetle", "dragonfly", "firefly", "cricket", "moth", "bumblebee",
        "earthworm", "snail", "butterfly",
    ];

    /// <summary>Things found on a beach.</summary>
    public static readonly string[] BeachFinds =
    [
        "a pink shell", "a starfish", "a smooth pebble", "a piece of blue glass", "a crab shell", "a long piece of seaweed",
        "a tiny sand dollar", "a white feather", "an old bottle", "a round stone",
    ];

    /// <summary>What one notices about a new friend ("a girl with ...").</summary>
    public static readonly string[] Looks =
    [
        "a big smile", "curly hair", "a funny hat", "bright eyes", "a loud laugh", "red boots", "lots of freckles",
        "a missing tooth", "a yellow raincoat", "long braids", "a striped shirt", "muddy knees",
    ];
}
