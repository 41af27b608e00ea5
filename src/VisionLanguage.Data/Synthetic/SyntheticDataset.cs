namespace VisionLanguage.Data.Synthetic;

/// <summary>How one web caption was corrupted; <see cref="SourceImage"/> is the image an unrelated caption was taken from.</summary>
public sealed record CaptionCorruption(int Index, string Image, CorruptionKind Kind, string Caption, string Original, string? SourceImage);

/// <summary>
/// One image of a split: its scene, the captions written for it, how its caption was corrupted, if it was, and the VQA
/// questions asked about it (none unless the dataset has VQA questions).
/// </summary>
public sealed record SyntheticItem(int Index, string Image, Scene Scene, IReadOnlyList<string> Captions, CaptionCorruption? Corruption)
{
    public IReadOnlyList<SyntheticQuestion> Questions { get; init; } = [];
}

/// <summary>
/// The synthetic dataset of <c>dataset.synthetic</c>, planned in full before anything is drawn: three splits of
/// scenes and captions, and the vocabulary of all their captions. <c>web</c> has <see cref="SyntheticDatasetSettings.Images"/>
/// images with exactly round(images × web_noise) corrupted captions (half, on average, another scene's caption;
/// the rest one attribute wrong); <c>human</c> and <c>test</c> are clean, and each test image has two captions.
/// Every scene and caption is drawn from its own stream of (seed, split, index), so the plan, and the bytes written,
/// depend on the seed alone. With <see cref="SyntheticDatasetSettings.VqaQuestions"/> above 0, every split also asks VQA
/// questions about its own images (<see cref="SyntheticVqa"/>): web and human give training questions, test the held-out
/// ones, about images no other split has. With <see cref="SyntheticDatasetSettings.Nlvr2Pairs"/> above 0, every split also
/// pairs its own images with NLVR2 statements (<see cref="SyntheticNlvr2"/>), the test split's about held-out images only.
/// </summary>
public sealed class SyntheticDataset
{
    public const string Web = "web";
    public const string Human = "human";
    public const string Test = "test";

    private const long CaptionStream = 0x43415054; // "CAPT"
    private const long NoiseStream = 0x4e4f4953;   // "NOIS"
    private const int TestCaptionsPerImage = 2;
    private const long WebStream = 1;
    private const long HumanStream = 2;
    private const long TestStream = 3;

    private SyntheticDataset(int imageSize, IReadOnlyList<SyntheticSplit> splits)
    {
        ImageSize = imageSize;
        Splits = splits;
        var items = splits.SelectMany(split => split.Items).ToList();
        var questions = items.SelectMany(item => item.Questions).ToList();

        // With VQA, the words of the questions, the annotators' answers and every candidate answer too, so a model
        // pretrained on the captions already knows the words its VQA finetune reads; with NLVR2, its statements' words.
        Vocabulary = BlipVocabulary.Build(items.SelectMany(item => item.Captions)
            .Concat(questions.SelectMany(question => question.Answers.Prepend(question.Question)))
            .Concat(questions.Count > 0 ? SceneQuestioner.AnswerList : [])
            .Concat(splits.SelectMany(split => split.Nlvr2Pairs).Select(pair => pair.Sentence)));
    }

    public int ImageSize { get; }

    /// <summary>web, human, test: the kind's output names.</summary>
    public IReadOnlyList<SyntheticSplit> Splits { get; }

    /// <summary>The vocabulary of every caption (and VQA question and answer) of every split; each split carries it as <c>vocab.txt</c>.</summary>
    public IReadOnlyList<string> Vocabulary { get; }

    public SyntheticSplit this[string name] => Splits.Single(split => split.Name == name);

    public static SyntheticDataset Plan(SyntheticDatasetSettings options)
    {
        var web = PlanSplit(WebStream, options.Images, options.Seed, captionsPerImage: 1);
        web = SyntheticVqa.Ask(Corrupt(web, options.WebNoise, options.Seed), WebStream, options);
        var human = SyntheticVqa.Ask(PlanSplit(HumanStream, options.HumanImages, options.Seed, captionsPerImage: 1), HumanStream, options);
        var test = SyntheticVqa.Ask(PlanSplit(TestStream, options.TestImages, options.Seed, captionsPerImage: TestCaptionsPerImage), TestStream, options);
        return new SyntheticDataset(options.ImageSize, [
            new(Web, web, options.ImageSize, captionLists: false) { Nlvr2Pairs = SyntheticNlvr2.Pair(web, WebStream, options) },
            new(Human, human, options.ImageSize, captionLists: false) { Nlvr2Pairs = SyntheticNlvr2.Pair(human, HumanStream, options) },
            new(Test, test, options.ImageSize, captionLists: true) { Nlvr2Pairs = SyntheticNlvr2.Pair(test, TestStream, options) }]);
    }

    /// <summary>The number of corrupted web captions for <paramref name="images"/> and <paramref name="noise"/>: round half away from zero.</summary>
    public static int CorruptedCount(int images, double noise) => (int)Math.Round(images * noise, MidpointRounding.AwayFromZero);

    /// <summary>The number of near answers in a split whose questions have <paramref name="answers"/> answers in all: round half away from zero.</summary>
    public static int NearAnswerCount(int answers, double disagreement) => SyntheticVqa.NearAnswerCount(answers, disagreement);

    private static List<SyntheticItem> PlanSplit(long stream, int count, int seed, int captionsPerImage)
    {
        var items = new List<SyntheticItem>(count);
        for (var index = 0; index < count; index++)
        {
            var scene = SceneSampler.Sample(DataRandom.For(seed, stream, index));
            var templates = Templates(seed, stream, index);
            var captions = new string[captionsPerImage];
            for (var c = 0; c < captions.Length; c++)
            {
                captions[c] = SceneCaptioner.Caption(scene.Description, templates[c]);
            }

            items.Add(new SyntheticItem(index, ImageName(index), scene, captions, Corruption: null));
        }

        return items;
    }

    /// <summary>The templates of an image's captions, in order: distinct, so two captions of one image differ.</summary>
    private static int[] Templates(int seed, long stream, int index)
    {
        var templates = new int[SceneCaptioner.TemplateCount];
        for (var t = 0; t < templates.Length; t++)
        {
            templates[t] = t;
        }

        DataRandom.For(seed, stream, CaptionStream, index).Shuffle(templates.AsSpan());
        return templates;
    }

    private static List<SyntheticItem> Corrupt(List<SyntheticItem> items, double noise, int seed)
    {
        var corrupted = CorruptedCount(items.Count, noise);
        var order = new int[items.Count];
        for (var i = 0; i < order.Length; i++)
        {
            order[i] = i;
        }

        DataRandom.For(seed, NoiseStream).Shuffle(order.AsSpan());
        foreach (var index in order.AsSpan(0, corrupted))
        {
            var item = items[index];
            var random = DataRandom.For(seed, NoiseStream, index);
            var original = item.Captions[0];
            var truths = SceneCaptioner.TrueCaptions(item.Scene.Description);
            CaptionCorruption corruption;
            if (random.NextBool())
            {
                // Another scene's planned caption (even when that one is corrupted too), never one true of this scene as well.
                int source;
                do
                {
                    source = random.Next(items.Count);
                }
                while (source == index || truths.Contains(Planned(items[source])));

                corruption = new CaptionCorruption(index, item.Image, CorruptionKind.Unrelated, Planned(items[source]), original, items[source].Image);
            }
            else
            {
                var kind = random.Pick(SceneCaptioner.Corruptible(item.Scene.Description));
                var wrong = SceneCaptioner.Corrupt(item.Scene.Description, kind, random);
                var template = Templates(seed, WebStream, index)[0];
                corruption = new CaptionCorruption(index, item.Image, kind, SceneCaptioner.Caption(wrong, template), original, SourceImage: null);
                if (truths.Contains(corruption.Caption))
                {
                    throw new InvalidOperationException($"corrupting the {kind} of '{original}' gave '{corruption.Caption}', which is still true");
                }
            }

            items[index] = item with { Captions = [corruption.Caption], Corruption = corruption };
        }

        return items;
    }

    /// <summary>The caption an item was planned with, before any corruption.</summary>
    private static string Planned(SyntheticItem item) => item.Corruption?.Original ?? item.Captions[0];

    private static string ImageName(int index) => $"images/{index:D6}.png";
}
