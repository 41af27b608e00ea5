namespace VisionLanguage.Evaluation.Tests;

public sealed class VqaMetricTests
{
    [Theory]
    // Number words become digits, articles go, apostrophe-less contractions get their apostrophe (processDigitArticle).
    [InlineData("two", "2")]
    [InlineData("none", "0")]
    [InlineData("ten", "10")]
    [InlineData("eleven", "eleven")]
    [InlineData("a dog", "dog")]
    [InlineData("The Two Dogs", "2 dogs")]
    [InlineData("an apple", "apple")]
    [InlineData("dont", "don't")]
    [InlineData("whats", "what's")]
    // The official keys "Im" and "Ive" are capitalised and the words lower-cased first, so they never match.
    [InlineData("Im", "im")]
    // The apostrophe is not in the official punctuation list.
    [InlineData("don't", "don't")]
    // A comma between two digits anywhere makes every mark be deleted rather than spaced.
    [InlineData("1,000", "1000")]
    [InlineData("1,000 people", "1000 people")]
    // A mark next to a space is deleted; one inside a word becomes a space.
    [InlineData("red, white", "red white")]
    [InlineData("yes/no", "yes no")]
    [InlineData("hot-dog", "hot dog")]
    [InlineData("black and white!", "black and white")]
    // A period not followed by a digit goes; a decimal point stays; so does a period before a digit (the look-ahead).
    [InlineData("dog.", "dog")]
    [InlineData("e.g.", "eg")]
    [InlineData("2.5", "2.5")]
    [InlineData(".5", ".5")]
    [InlineData("5.", "5")]
    // Newlines, tabs and outer white space are cleaned; inner runs of white space become one space.
    [InlineData("  Red\tcircle\n", "red circle")]
    [InlineData("left  side", "left side")]
    public void Answers_are_normalised_as_the_official_evaluation_does(string answer, string expected)
    {
        Assert.Equal(expected, VqaAnswerNormalization.Normalize(answer));
    }

    [Fact]
    public void Whether_a_mark_is_deleted_or_spaced_is_decided_on_the_answer_as_given()
    {
        // "?" is next to a space, so it is deleted; "/" is not, so it becomes a space.
        Assert.Equal("what color shape", VqaAnswerNormalization.ProcessPunctuation("what ?color/shape"));
        // "/" (before "-" in the official list) becomes a space, which puts "-" next to one; but "-" is judged on "x/-y"
        // as given, where no space touches it, so it too becomes a space: two spaces, not one.
        Assert.Equal("x  y", VqaAnswerNormalization.ProcessPunctuation("x/-y"));
        Assert.Equal("x y", VqaAnswerNormalization.Normalize("x/-y"));
    }

    [Fact]
    public void At_most_32_periods_are_deleted_because_the_official_code_passes_re_UNICODE_as_the_count()
    {
        // re.UNICODE is 32, and re.sub's third parameter is the count: of 40 periods, 8 are left.
        Assert.Equal(new string('.', 8), VqaAnswerNormalization.ProcessPunctuation(new string('.', 40)));
    }

    [Theory]
    // m of the ten annotators gave the predicted answer. Leaving out one of those m leaves m − 1 matches; leaving out
    // one of the other 10 − m leaves m. Accuracy = (m · min(1, (m − 1)/3) + (10 − m) · min(1, m/3)) / 10.
    // m = 0: 0.
    [InlineData(0, 0.0)]
    // m = 1: (1 · 0 + 9 · 1/3) / 10 = 3/10.
    [InlineData(1, 0.3)]
    // m = 2: (2 · 1/3 + 8 · 2/3) / 10 = (2/3 + 16/3) / 10 = 6/10.
    [InlineData(2, 0.6)]
    // m = 3: (3 · 2/3 + 7 · 1) / 10 = (2 + 7) / 10 = 9/10: three matches are not yet full marks.
    [InlineData(3, 0.9)]
    // m = 4: (4 · 1 + 6 · 1) / 10 = 1: four matches or more are.
    [InlineData(4, 1.0)]
    [InlineData(7, 1.0)]
    // m = 10: unanimous, every leave-one-out subset has 9 matches.
    [InlineData(10, 1.0)]
    public void Accuracy_is_the_mean_over_the_ten_leave_one_out_subsets_of_min_matches_over_3_and_1(int matches, double expected)
    {
        var answers = Enumerable.Repeat("red", matches).Concat(Enumerable.Repeat("blue", 10 - matches)).ToList();

        Assert.Equal(expected, VqaAccuracy.Question("red", answers), 12);
    }

    [Fact]
    public void Disagreeing_annotators_are_compared_after_normalisation()
    {
        // Six "2", two "two", two "3": the answers differ, so all are normalised: eight "2" and two "3".
        string[] answers = ["2", "2", "2", "2", "2", "2", "two", "two", "3", "3"];

        // "Two." → "." deleted → "Two" → "2": eight matches, full marks.
        Assert.Equal(1.0, VqaAccuracy.Question("Two.", answers), 12);
        // "three": two matches, 6/10 as above.
        Assert.Equal(0.6, VqaAccuracy.Question("three", answers), 12);
    }

    [Fact]
    public void Unanimous_annotators_are_compared_as_written_as_in_the_official_code()
    {
        string[] answers = [.. Enumerable.Repeat("2", 10)];

        // Only newlines, tabs and outer white space are cleaned when all ten agree: "two" and "2 " differ in kind.
        Assert.Equal(1.0, VqaAccuracy.Question(" 2\n", answers), 12);
        Assert.Equal(0.0, VqaAccuracy.Question("two", answers), 12);
    }

    [Fact]
    public void A_split_scores_the_mean_per_question_and_per_question_and_answer_type()
    {
        VqaGroundTruth[] questions =
        [
            new(1, [.. Enumerable.Repeat("red", 10)], "colour", "other"),
            new(2, [.. Enumerable.Repeat("red", 2), .. Enumerable.Repeat("orange", 8)], "colour", "other"),
            new(3, [.. Enumerable.Repeat("3", 9), "4"], "count", "number"),
            new(4, [.. Enumerable.Repeat("left", 10)]),
        ];

        var result = VqaAccuracy.Evaluate(questions, ["red", "red", "4", "left"]);

        // Per question: 1; two of ten gave "red": 0.6; one of ten gave "4": 0.3; 1.
        Assert.Equal([1.0, 0.6, 0.3, 1.0], result.PerQuestion.Select(score => Math.Round(score.Accuracy, 12)));
        // Overall (1 + 0.6 + 0.3 + 1) / 4 = 0.725; colour (1 + 0.6) / 2 = 0.8; count 0.3; question 4 has no type.
        Assert.Equal(0.725, result.Accuracy, 12);
        Assert.Equal(["colour", "count"], result.PerQuestionType.Keys);
        Assert.Equal(0.8, result.PerQuestionType["colour"], 12);
        Assert.Equal(0.3, result.PerQuestionType["count"], 12);
        Assert.Equal(0.3, result.PerAnswerType["number"], 12);
        Assert.Equal(["eval_questions", "eval_vqa_accuracy", "eval_vqa_accuracy_colour", "eval_vqa_accuracy_count"], result.Metrics().Keys.Order(StringComparer.Ordinal));
        Assert.Equal(4, result.Metrics()["eval_questions"]);
    }

    [Fact]
    public void Official_question_types_become_metric_names_with_underscores()
    {
        var result = VqaAccuracy.Evaluate([new VqaGroundTruth(7, ["yes", "yes", "no"], "is this a", "yes/no")], ["yes"]);

        // Three annotators: leaving out either "yes" leaves one match (1/3), leaving out "no" two (2/3): (1/3 + 1/3 + 2/3) / 3 = 4/9.
        Assert.Equal(4.0 / 9, result.Metrics()["eval_vqa_accuracy_is_this_a"], 12);
    }

    [Fact]
    public void A_split_refuses_mismatched_counts_duplicate_ids_and_questions_without_answers()
    {
        Assert.Contains("1 predicted answers for 2 questions",
            Assert.Throws<ArgumentException>(() => VqaAccuracy.Evaluate([new(1, ["a"]), new(2, ["b"])], ["a"])).Message, StringComparison.Ordinal);
        Assert.Contains("question id 5 occurs 2 times",
            Assert.Throws<ArgumentException>(() => VqaAccuracy.Evaluate([new(5, ["a"]), new(5, ["b"])], ["a", "b"])).Message, StringComparison.Ordinal);
        Assert.Contains("at least one annotator answer",
            Assert.Throws<ArgumentException>(() => VqaAccuracy.Question("a", [])).Message, StringComparison.Ordinal);
    }
}
