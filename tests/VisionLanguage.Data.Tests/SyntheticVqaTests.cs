using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using VisionLanguage.Data.Synthetic;
using VisionLanguage.Testing;

namespace VisionLanguage.Data.Tests;

public sealed class SyntheticVqaTests : IDisposable
{
    private static readonly Dictionary<string, ShapeKind> ShapeWords = Enum.GetValues<ShapeKind>()
        .SelectMany(shape => new[] { (SceneWords.Word(shape), shape), (SceneWords.Word(shape, plural: true), shape) })
        .ToDictionary(pair => pair.Item1, pair => pair.shape);

    private static readonly Dictionary<string, ShapeColour> ColourWords = Enum.GetValues<ShapeColour>().ToDictionary(colour => SceneWords.Word(colour));

    private readonly DataTestFolder _folder = new();

    [Fact]
    public async Task Vqa_is_off_by_default_and_turning_it_on_adds_files_without_changing_images_captions_or_scenes()
    {
        var off = SyntheticDataset.Plan(SyntheticDatasetTests.Options(seed: 4));
        var on = SyntheticDataset.Plan(Options(seed: 4, questions: 2));
        await WriteAsync(off, "off");
        await WriteAsync(on, "on");

        var offFiles = DataTestFolder.Hashes(_folder.PathOf("off"));
        var onFiles = DataTestFolder.Hashes(_folder.PathOf("on"));
        Assert.DoesNotContain(offFiles.Keys, file => file.Contains("vqa", StringComparison.Ordinal) || file.EndsWith(VqaDataset.AnswerListFile, StringComparison.Ordinal));
        Assert.Equal(["human/answer_list.json", "human/vqa/human.json", "test/answer_list.json", "test/vqa/test.json", "web/answer_list.json", "web/vqa/web.json"],
            onFiles.Keys.Except(offFiles.Keys).Order(StringComparer.Ordinal));
        // Everything else is the same bytes except the vocabulary, which gains the questions' and answers' words.
        Assert.Equal(["human/vocab.txt", "test/vocab.txt", "web/vocab.txt"], offFiles.Keys.Where(file => offFiles[file] != onFiles[file]).Order(StringComparer.Ordinal));
        Assert.Equal(BlipVocabulary.Build(off.Splits.SelectMany(split => split.Items).SelectMany(item => item.Captions)), off.Vocabulary);
        Assert.All(off.Splits, split => Assert.DoesNotContain(split.Metrics().Keys, key => key.StartsWith("vqa_", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task The_same_seed_asks_the_same_questions_with_the_same_answers_and_another_seed_does_not()
    {
        await WriteAsync(SyntheticDataset.Plan(Options(seed: 7, questions: 3)), "first");
        await WriteAsync(SyntheticDataset.Plan(Options(seed: 7, questions: 3)), "again");
        await WriteAsync(SyntheticDataset.Plan(Options(seed: 8, questions: 3)), "other");

        foreach (var split in new[] { "web", "human", "test" })
        {
            var file = $"{split}/vqa/{split}.json";
            Assert.Equal(File.ReadAllBytes(_folder.PathOf($"first/{file}")), File.ReadAllBytes(_folder.PathOf($"again/{file}")));
            Assert.NotEqual(File.ReadAllBytes(_folder.PathOf($"first/{file}")), File.ReadAllBytes(_folder.PathOf($"other/{file}")));
        }
    }

    [Theory]
    [InlineData(SyntheticDataset.Web)]
    [InlineData(SyntheticDataset.Human)]
    [InlineData(SyntheticDataset.Test)]
    public async Task Every_question_has_one_right_answer_in_the_scene_as_drawn(string splitName)
    {
        var dataset = SyntheticDataset.Plan(Options(seed: 5, images: 150, human: 150, test: 150, questions: 4));
        var split = dataset[splitName];
        var directory = _folder.PathOf(splitName);
        await split.WriteAsync(directory, dataset.Vocabulary, _ => Task.CompletedTask, CancellationToken.None);

        var scenes = DrawnScenes(directory);
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(directory, "vqa", splitName + ".json")));
        var kinds = new Dictionary<string, int>();
        foreach (var entry in json.RootElement.EnumerateArray())
        {
            var question = entry.GetProperty("question").GetString()!;
            var type = entry.GetProperty("question_type").GetString()!;
            var answers = entry.GetProperty("answer").EnumerateArray().Select(answer => answer.GetString()!).ToList();
            var truth = split.Questions.Single(q => q.QuestionId == entry.GetProperty("question_id").GetInt64()).Answer;
            kinds[type] = kinds.GetValueOrDefault(type) + 1;
            Assert.Equal(10, answers.Count);
            Assert.Equal(type == "count" ? "number" : "other", entry.GetProperty("answer_type").GetString());
            Assert.Contains(truth, SceneQuestioner.AnswerList);
            AssertAnswers(scenes[entry.GetProperty("image").GetString()!], type, question, truth);
        }

        // Every kind is asked; at most four per image, of different kinds.
        Assert.Equal(["colour", "count", "position", "shape"], kinds.Keys.Order(StringComparer.Ordinal));
        Assert.All(split.Items, item => Assert.Equal(item.Questions.Count, item.Questions.Select(q => q.Kind).Distinct().Count()));
        Assert.All(split.Items, item => Assert.InRange(item.Questions.Count, 1, 4));
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(0.1)]
    [InlineData(0.25)]
    [InlineData(0.5)]
    [InlineData(1.0)]
    public void Exactly_round_answers_times_disagreement_are_near_answers_spread_unevenly_over_questions(double disagreement)
    {
        var dataset = SyntheticDataset.Plan(Options(seed: 3, images: 200, questions: 2, disagreement: disagreement));

        foreach (var split in dataset.Splits)
        {
            var answers = split.Questions.Sum(question => question.Answers.Count);
            var near = split.Questions.Sum(question => question.Answers.Count(answer => answer != question.Answer));
            Assert.Equal(split.Questions.Count * 10, answers);
            Assert.Equal(SyntheticDataset.NearAnswerCount(answers, disagreement), near);
            Assert.Equal((int)Math.Round(answers * disagreement, MidpointRounding.AwayFromZero), near);
            var metrics = split.Metrics();
            Assert.Equal(1.0 - ((double)near / answers), metrics["vqa_agreement"], 12);
            Assert.Equal(near, metrics["vqa_near_answers"]);
            Assert.Equal(split.Questions.Count, metrics["vqa_questions"]);

            // Each near answer is one of the question's near answers, never the true one.
            foreach (var question in split.Questions)
            {
                var item = split.Items.Single(candidate => candidate.Image == question.Image);
                var asked = SceneQuestioner.Askable(item.Scene, question.Kind).Single(candidate => candidate.Question == question.Question);
                Assert.All(question.Answers.Where(answer => answer != question.Answer), answer => Assert.Contains(answer, asked.NearAnswers));
                Assert.DoesNotContain(question.Answer, asked.NearAnswers);
            }
        }

        // At 0.25 the near answers fall on random slots: questions differ in how many annotators disagree.
        if (disagreement == 0.25)
        {
            var perQuestion = dataset[SyntheticDataset.Web].Questions.Select(question => question.Answers.Count(answer => answer != question.Answer)).Distinct().Count();
            Assert.True(perQuestion >= 4, $"only {perQuestion} distinct numbers of disagreeing annotators per question");
        }
    }

    [Fact]
    public async Task Held_out_questions_are_only_about_held_out_images_and_ids_are_unique_across_splits()
    {
        var dataset = SyntheticDataset.Plan(Options(seed: 9, images: 80, human: 30, test: 40, questions: 3));
        await WriteAsync(dataset, "data");

        var imagesOf = dataset.Splits.ToDictionary(split => split.Name, split => split.Items.Select(item => item.Image).ToHashSet());
        var training = new HashSet<string>();
        foreach (var split in new[] { SyntheticDataset.Web, SyntheticDataset.Human })
        {
            training.UnionWith(Directory.EnumerateFiles(_folder.PathOf($"data/{split}/images")).Select(file => Convert.ToHexString(File.ReadAllBytes(file))));
        }

        using var test = VqaDataset.OpenFolder(_folder.PathOf("data/test"), BadDataPolicy.Fail);
        Assert.Equal(dataset[SyntheticDataset.Test].Questions.Count, test.Count);
        Assert.All(test.ImagePaths, path => Assert.StartsWith(_folder.PathOf("data/test/images/"), path, StringComparison.Ordinal));
        Assert.All(test.ImagePaths, path => Assert.DoesNotContain(Convert.ToHexString(File.ReadAllBytes(path)), training));
        Assert.All(dataset.Splits, split => Assert.All(split.Questions, question => Assert.Contains(question.Image, imagesOf[split.Name])));
        var ids = dataset.Splits.SelectMany(split => split.Questions).Select(question => question.QuestionId).ToList();
        Assert.Equal(ids.Count, ids.Distinct().Count());
    }

    [Fact]
    public async Task What_a_split_writes_reads_back_as_a_VQA_dataset_whose_words_the_vocabulary_knows()
    {
        var dataset = SyntheticDataset.Plan(Options(seed: 2, human: 25, questions: 4, disagreement: 0.3));
        await WriteAsync(dataset, "data");
        var split = dataset[SyntheticDataset.Human];
        var folder = _folder.PathOf("data/human");

        Assert.Equal(["human"], VqaDataset.Splits(folder));
        using var read = VqaDataset.OpenFolder(folder, BadDataPolicy.Fail);
        Assert.Equal(
            split.Questions.Select(q => (q.QuestionId, Path.Combine(folder, q.Image), q.Question, string.Join('|', q.Answers), q.QuestionType, q.AnswerType)),
            read.Samples.Select(s => (s.QuestionId, read.ImagePaths[s.ImageId], s.Question, string.Join('|', s.Answers), s.QuestionType!, s.AnswerType!)));
        Assert.Equal(SceneQuestioner.AnswerList, VqaDataset.ReadAnswerList(folder));

        var tokenizer = BlipTokenizer.FromVocabFile(Path.Combine(folder, BlipVocabulary.FileName));
        foreach (var text in read.Samples.SelectMany(sample => sample.Answers.Prepend(sample.Question)).Concat(SceneQuestioner.AnswerList))
        {
            Assert.DoesNotContain(tokenizer.UnkId, tokenizer.Encode(text, 64));
        }
    }

    [Fact]
    public void A_hand_built_scene_gets_exactly_these_questions_answers_and_near_answers()
    {
        // A red circle left of a blue square, and a tiny green circle: "the circle" is ambiguous, "the square" is not.
        var red = new ObjectSpec(ShapeColour.Red, ShapeKind.Circle, ShapeSize.Large);
        var blue = new ObjectSpec(ShapeColour.Blue, ShapeKind.Square, ShapeSize.Small);
        var scene = new Scene(
            new SceneDescription(SceneLayout.Pair, red, Relation: Relation.LeftOf, Second: blue),
            [Shape(ShapeKind.Circle, ShapeColour.Red, 0.25, 0.5), Shape(ShapeKind.Square, ShapeColour.Blue, 0.75, 0.5)],
            [Shape(ShapeKind.Circle, ShapeColour.Green, 0.5, 0.1)],
            (128, 128, 128), (128, 128, 128));

        Assert.Equal([("what color is the square?", "blue", "cyan|purple")], Summary(scene, VqaQuestionKind.Colour));
        Assert.Equal([("what shape is the red object?", "circle", "a circle|hexagon"), ("what shape is the blue object?", "square", "a square|diamond")],
            Summary(scene, VqaQuestionKind.Shape));
        Assert.Equal([("how many red circles are there?", "1", "one|2"), ("how many blue squares are there?", "1", "one|2")], Summary(scene, VqaQuestionKind.Count));
        Assert.Equal([("is the red circle left or right of the blue square?", "left", "right"), ("is the blue square left or right of the red circle?", "right", "left")],
            Summary(scene, VqaQuestionKind.Position));

        // Three of a kind: plural questions; no position question for a group.
        var group = new Scene(
            new SceneDescription(SceneLayout.Group, new ObjectSpec(ShapeColour.White, ShapeKind.Cross, ShapeSize.Small), Count: 3),
            [Shape(ShapeKind.Cross, ShapeColour.White, 0.2, 0.2), Shape(ShapeKind.Cross, ShapeColour.White, 0.5, 0.5), Shape(ShapeKind.Cross, ShapeColour.White, 0.8, 0.8)],
            [], (128, 128, 128), (128, 128, 128));
        Assert.Equal([("what color are the crosses?", "white", "gray")], Summary(group, VqaQuestionKind.Colour));
        Assert.Equal([("what shape are the white objects?", "cross", "a cross|star")], Summary(group, VqaQuestionKind.Shape));
        Assert.Equal([("how many white crosses are there?", "3", "three|2|4")], Summary(group, VqaQuestionKind.Count));
        Assert.Empty(Summary(group, VqaQuestionKind.Position));

        var single = new Scene(
            new SceneDescription(SceneLayout.Single, new ObjectSpec(ShapeColour.Yellow, ShapeKind.Star, ShapeSize.Large), Placement: Placement.Center),
            [Shape(ShapeKind.Star, ShapeColour.Yellow, 0.5, 0.5)], [], (128, 128, 128), (128, 128, 128));
        Assert.Equal([("where is the yellow star?", "center", "the center|left|right|top|bottom")], Summary(single, VqaQuestionKind.Position));
    }

    public void Dispose() => _folder.Dispose();

    private static SyntheticDatasetSettings Options(int seed, int images = 60, int human = 12, int test = 10, int questions = 2, double disagreement = 0.2) =>
        SyntheticDatasetTests.Options(seed, images, human, test) with { VqaQuestions = questions, VqaDisagreement = disagreement };

    private static PlacedShape Shape(ShapeKind shape, ShapeColour colour, double x, double y) => new(shape, colour, x, y, 0.1, 0, 0, 0, 0);

    private static List<(string, string, string)> Summary(Scene scene, VqaQuestionKind kind) =>
        [.. SceneQuestioner.Askable(scene, kind).Select(question => (question.Question, question.Answer, string.Join('|', question.NearAnswers)))];

    private async Task WriteAsync(SyntheticDataset dataset, string name)
    {
        foreach (var split in dataset.Splits)
        {
            await split.WriteAsync(_folder.PathOf($"{name}/{split.Name}"), dataset.Vocabulary, _ => Task.CompletedTask, CancellationToken.None);
        }
    }

    /// <summary>Every drawn shape (objects and distractors) of each image, from scenes.json.</summary>
    private static Dictionary<string, List<(ShapeKind Shape, ShapeColour Colour, double X, double Y)>> DrawnScenes(string directory)
    {
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(directory, SyntheticSplit.ScenesFile)));
        return json.RootElement.EnumerateArray().ToDictionary(
            scene => scene.GetProperty("image").GetString()!,
            scene => scene.GetProperty("objects").EnumerateArray().Concat(scene.GetProperty("distractors").EnumerateArray())
                .Select(shape => (ShapeWords[shape.GetProperty("shape").GetString()!], ColourWords[shape.GetProperty("colour").GetString()!],
                    shape.GetProperty("x").GetDouble(), shape.GetProperty("y").GetDouble()))
                .ToList());
    }

    /// <summary>Checks the true answer of a question against the drawn shapes, reading the question back independently of its templates.</summary>
    private static void AssertAnswers(List<(ShapeKind Shape, ShapeColour Colour, double X, double Y)> drawn, string type, string question, string truth)
    {
        Match match;
        switch (type)
        {
            case "colour":
                match = Regex.Match(question, @"^what color (is|are) the (\w+)\?$");
                Assert.True(match.Success, question);
                var ofShape = drawn.Where(shape => shape.Shape == ShapeWords[match.Groups[2].Value]).ToList();
                Assert.NotEmpty(ofShape);
                Assert.All(ofShape, shape => Assert.Equal(truth, SceneWords.Word(shape.Colour)));
                break;
            case "shape":
                match = Regex.Match(question, @"^what shape (is|are) the (\w+) objects?\?$");
                Assert.True(match.Success, question);
                var ofColour = drawn.Where(shape => shape.Colour == ColourWords[match.Groups[2].Value]).ToList();
                Assert.NotEmpty(ofColour);
                Assert.All(ofColour, shape => Assert.Equal(truth, SceneWords.Word(shape.Shape)));
                break;
            case "count":
                match = Regex.Match(question, @"^how many (\w+) (\w+) are there\?$");
                Assert.True(match.Success, question);
                var count = drawn.Count(shape => shape.Colour == ColourWords[match.Groups[1].Value] && shape.Shape == ShapeWords[match.Groups[2].Value]);
                Assert.Equal(count.ToString(CultureInfo.InvariantCulture), truth);
                break;
            default:
                match = Regex.Match(question, @"^where is the (\w+) (\w+)\?$");
                if (match.Success)
                {
                    var (_, _, x, y) = Assert.Single(drawn, shape => shape.Colour == ColourWords[match.Groups[1].Value] && shape.Shape == ShapeWords[match.Groups[2].Value]);
                    var inPlace = truth switch
                    {
                        "left" => x < 0.35,
                        "right" => x > 0.65,
                        "top" => y < 0.35,
                        "bottom" => y > 0.65,
                        _ => Math.Abs(x - 0.5) < 0.1 && Math.Abs(y - 0.5) < 0.1,
                    };
                    Assert.True(inPlace, $"{question} {truth}: ({x}, {y})");
                    break;
                }

                match = Regex.Match(question, @"^is the (\w+) (\w+) (left or right of|above or below) the (\w+) (\w+)\?$");
                Assert.True(match.Success, question);
                var a = Assert.Single(drawn, shape => shape.Colour == ColourWords[match.Groups[1].Value] && shape.Shape == ShapeWords[match.Groups[2].Value]);
                var b = Assert.Single(drawn, shape => shape.Colour == ColourWords[match.Groups[4].Value] && shape.Shape == ShapeWords[match.Groups[5].Value]);
                var related = truth switch
                {
                    "left" => a.X < b.X - 0.3,
                    "right" => a.X > b.X + 0.3,
                    "above" => a.Y < b.Y - 0.3,
                    _ => a.Y > b.Y + 0.3,
                };
                Assert.True(related, $"{question} {truth}: ({a.X}, {a.Y}) and ({b.X}, {b.Y})");
                break;
        }
    }
}
