using VisionLanguage.Models.Blip;
using VisionLanguage.Models.Weights;
using VisionLanguage.Testing;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace VisionLanguage.Models.Tests.Blip;

public sealed class BlipVqaModelTests(ITestOutputHelper output) : IDisposable
{
    private static readonly BlipSpecialTokens Tokens = TinyBlip.Tokens;

    private readonly string _folder = Directory.CreateTempSubdirectory("blip-vqa-").FullName;

    /// <summary>Candidate answers (word ids 7 … 39), some sharing their first word, of one to three words.</summary>
    private static readonly long[][] Answers = [[10], [11, 12], [11, 13], [14], [15, 16, 17], [18], [19, 12]];

    [Fact]
    public void Checkpoint_names_follow_lavis_blip_vqa_and_the_decoder_shares_nothing_with_the_encoder()
    {
        using var model = new BlipVqaModel(TinyBlip.Config(), Tokens, seed: 1);
        var state = model.state_dict();

        Assert.Equal([32L, 32], state["text_encoder.encoder.layer.0.crossattention.self.key.weight"].shape);
        Assert.Equal([32L, 32], state["text_decoder.bert.encoder.layer.0.crossattention.self.key.weight"].shape);
        Assert.Equal([40L, 32], state["text_decoder.bert.embeddings.word_embeddings.weight"].shape);
        Assert.Equal([40L], state["text_decoder.cls.predictions.bias"].shape);
        Assert.DoesNotContain(state.Keys, key => key.Contains("itm_head", StringComparison.Ordinal) || key.Contains("_m.", StringComparison.Ordinal));
        foreach (var (name, tensor) in state.Where(entry => entry.Key.StartsWith("text_encoder.", StringComparison.Ordinal)))
        {
            var decoderName = "text_decoder.bert." + name["text_encoder.".Length..];
            Assert.False(state.TryGetValue(decoderName, out var twin) && ReferenceEquals(twin, tensor), $"{decoderName} is the encoder's tensor");
        }

        // The head's output weights are the decoder's own word embeddings; every parameter trains.
        Assert.Same(state["text_decoder.bert.embeddings.word_embeddings.weight"], state["text_decoder.cls.predictions.decoder.weight"]);
        Assert.Equal(model.parameters().Count(), model.TrainableParameters().Count());
    }

    [Fact]
    public void The_answer_decoder_starts_from_the_pretrained_decoder_and_the_vocabulary_grows_with_fresh_rows()
    {
        var path = Path.Combine(_folder, "pretrained.safetensors");
        using var pretrained = TinyBlip.Model(seed: 3);
        BlipWeights.Save(pretrained, path);
        var grown = TinyBlip.Config() with { Text = TinyBlip.Config().Text with { VocabSize = TinyBlip.VocabSize + 4 } };
        using var model = new BlipVqaModel(grown, Tokens, seed: 4);
        var fresh = model.state_dict()["text_decoder.bert.embeddings.word_embeddings.weight"].clone();

        var report = model.LoadWeights(path, WeightsLoading.Lenient);

        var source = pretrained.state_dict();
        var state = model.state_dict();
        AssertEqual(source["text_encoder.encoder.layer.0.crossattention.self.key.weight"], state["text_encoder.encoder.layer.0.crossattention.self.key.weight"]);
        // The decoder's own self-attention and head from the pretrained decoder; what it shared there from the encoder.
        AssertEqual(source["text_decoder.bert.encoder.layer.0.attention.self.query.weight"], state["text_decoder.bert.encoder.layer.0.attention.self.query.weight"]);
        AssertEqual(source["text_decoder.cls.predictions.transform.dense.weight"], state["text_decoder.cls.predictions.transform.dense.weight"]);
        AssertEqual(source["text_encoder.encoder.layer.0.crossattention.self.value.weight"], state["text_decoder.bert.encoder.layer.0.crossattention.self.value.weight"]);
        AssertEqual(source["text_encoder.encoder.layer.0.intermediate.dense.weight"], state["text_decoder.bert.encoder.layer.0.intermediate.dense.weight"]);
        AssertEqual(source["text_encoder.embeddings.LayerNorm.weight"], state["text_decoder.bert.embeddings.LayerNorm.weight"]);
        // 40 pretrained rows, 4 new ones as they were drawn; the LM bias likewise.
        var embeddings = state["text_decoder.bert.embeddings.word_embeddings.weight"];
        AssertEqual(source["text_encoder.embeddings.word_embeddings.weight"], embeddings.narrow(0, 0, TinyBlip.VocabSize));
        AssertEqual(fresh.narrow(0, TinyBlip.VocabSize, 4), embeddings.narrow(0, TinyBlip.VocabSize, 4));
        AssertEqual(source["text_decoder.cls.predictions.bias"], state["text_decoder.cls.predictions.bias"].narrow(0, 0, TinyBlip.VocabSize));
        Assert.Empty(report.Missing);
        Assert.Contains(report.Adapted, line => line.StartsWith("text_decoder.bert.encoder.layer.0.crossattention.self.key.weight: from text_encoder.", StringComparison.Ordinal));
        Assert.Contains(report.Adapted, line => line.Contains("vocabulary rows", StringComparison.Ordinal));
        // Training the decoder leaves the encoder as it was: they are separate tensors now.
        using (no_grad())
        {
            state["text_decoder.bert.encoder.layer.0.intermediate.dense.weight"].add_(1.0);
        }

        AssertEqual(source["text_encoder.encoder.layer.0.intermediate.dense.weight"], state["text_encoder.encoder.layer.0.intermediate.dense.weight"]);
    }

    [Fact]
    public void A_wider_vit_leaves_the_decoders_cross_attention_keys_fresh_as_lavis_drops_them()
    {
        var path = Path.Combine(_folder, "wide.safetensors");
        var wide = TinyBlip.Config() with
        {
            Vision = TinyBlip.Config().Vision with { Width = 48 },
            Text = TinyBlip.Config().Text with { EncoderWidth = 48 },
        };
        using (var pretrained = new BlipPretrainModel(wide, Tokens, seed: 3))
        {
            BlipWeights.Save(pretrained, path);
        }

        using var model = new BlipVqaModel(wide, Tokens, seed: 4);
        var before = model.state_dict()["text_decoder.bert.encoder.layer.0.crossattention.self.key.weight"].clone();

        var report = model.LoadWeights(path, WeightsLoading.Lenient);

        Assert.Equal([32L, 32], before.shape);
        AssertEqual(before, model.state_dict()["text_decoder.bert.encoder.layer.0.crossattention.self.key.weight"]);
        Assert.Contains("text_decoder.bert.encoder.layer.0.crossattention.self.key.weight", report.Missing);
        Assert.Contains(report.Adapted, line => line.Contains("[32, 48], not [32, 32]; kept fresh", StringComparison.Ordinal));
    }

    [Fact]
    public void The_loss_is_each_answers_summed_token_loss_weighted_by_its_share_over_the_questions()
    {
        using var model = new BlipVqaModel(TinyBlip.Config(), Tokens, seed: 5);
        model.eval();
        using var scope = NewDisposeScope();
        using var batch = Batch(questions: 2, answersPerQuestion: [2, 3], seed: 6);

        var loss = model.call(batch).LossVqa.item<float>();

        // By hand: every answer alone against its question, unpadded.
        var states = model.QuestionStates(batch.QuestionIds, batch.QuestionMask, model.ImageEmbeddings(batch.Images));
        var question = batch.AnswerQuestion.data<long>().ToArray();
        var weights = batch.AnswerWeights.data<float>().ToArray();
        var expected = 0.0;
        for (var j = 0; j < question.Length; j++)
        {
            var length = batch.AnswerMask[j].sum().item<long>();
            var ids = batch.AnswerIds[j].narrow(0, 0, length).unsqueeze(0);
            var row = states[question[j]].unsqueeze(0);
            var rowMask = batch.QuestionMask[question[j]].unsqueeze(0);
            expected += weights[j] * model.AnswerLoss(row, rowMask, ids, ones_like(ids)).item<float>();
        }

        Assert.Equal(expected / 2, loss, 4);
    }

    [Theory]
    [InlineData(7)]
    [InlineData(128)]
    public void Ranking_with_k_at_least_the_list_equals_brute_force_scoring_of_every_answer(int k)
    {
        using var model = new BlipVqaModel(TinyBlip.Config(), Tokens, seed: 7);
        model.eval();
        using var scope = NewDisposeScope();
        using var batch = Batch(questions: 5, answersPerQuestion: [1, 1, 1, 1, 1], seed: 8);
        var states = model.QuestionStates(batch.QuestionIds, batch.QuestionMask, model.ImageEmbeddings(batch.Images));
        var (ids, mask) = Padded(Answers);

        var ranked = model.RankAnswers(states, batch.QuestionMask, ids, mask, k);

        for (var q = 0; q < 5; q++)
        {
            var scores = Answers.Select(answer => BruteForce(model, states, batch.QuestionMask, q, answer).LogLikelihood).ToList();
            Assert.Equal(scores.IndexOf(scores.Max()), ranked[q]);
        }
    }

    [Fact]
    public void Ranking_with_a_small_k_scores_only_the_candidates_whose_first_token_is_likeliest()
    {
        // Answers with distinct first tokens, so the top k by first-token probability is one set.
        long[][] answers = [[10], [11, 12], [14, 15], [16], [17, 18, 19], [20]];
        using var model = new BlipVqaModel(TinyBlip.Config(), Tokens, seed: 9);
        model.eval();
        using var scope = NewDisposeScope();
        using var batch = Batch(questions: 6, answersPerQuestion: [1, 1, 1, 1, 1, 1], seed: 10);
        var states = model.QuestionStates(batch.QuestionIds, batch.QuestionMask, model.ImageEmbeddings(batch.Images));
        var (ids, mask) = Padded(answers);

        var ranked = model.RankAnswers(states, batch.QuestionMask, ids, mask, k: 2);

        var differs = false;
        for (var q = 0; q < 6; q++)
        {
            var scored = answers.Select((answer, index) => (Index: index, Score: BruteForce(model, states, batch.QuestionMask, q, answer))).ToList();
            var top2 = scored.OrderByDescending(entry => entry.Score.FirstToken).Take(2).ToList();
            Assert.Equal(top2.MaxBy(entry => entry.Score.LogLikelihood).Index, ranked[q]);
            differs |= scored.MaxBy(entry => entry.Score.LogLikelihood).Index != ranked[q];
        }

        output.WriteLine(differs ? "k = 2 chose differently from the whole list for some question" : "k = 2 chose as the whole list");
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    /// <summary>The answer's first-token probability after [DEC] and its summed, label-smoothed log-likelihood, from one unpadded decoder pass.</summary>
    private static (double FirstToken, double LogLikelihood) BruteForce(BlipVqaModel model, Tensor states, Tensor questionMask, int question, long[] words)
    {
        using var scope = NewDisposeScope();
        long[] sequence = [Tokens.ClsId, .. words, Tokens.SepId];
        var ids = tensor(sequence, device: CPU).unsqueeze(0);
        var row = states[question].unsqueeze(0);
        var rowMask = questionMask[question].unsqueeze(0);
        var first = model.FirstTokenLogits(row, rowMask).softmax(1)[0, words[0]].item<float>();
        return (first, -model.AnswerLoss(row, rowMask, ids, ones_like(ids)).item<float>());
    }

    private static (Tensor Ids, Tensor Mask) Padded(long[][] answers)
    {
        var length = answers.Max(answer => answer.Length) + 2;
        var ids = new long[answers.Length * length];
        var mask = new long[answers.Length * length];
        for (var i = 0; i < answers.Length; i++)
        {
            long[] sequence = [Tokens.ClsId, .. answers[i], Tokens.SepId];
            sequence.CopyTo(ids, i * length);
            mask.AsSpan(i * length, sequence.Length).Fill(1);
        }

        return (tensor(ids, [answers.Length, length], device: CPU), tensor(mask, [answers.Length, length], device: CPU));
    }

    /// <summary>Random images and questions of different lengths (padded), and answers of one to three words per question.</summary>
    private static BlipVqaBatch Batch(int questions, int[] answersPerQuestion, int seed)
    {
        using var generator = new Generator((ulong)seed);
        var images = randn([questions, 3, 16, 16], generator: generator, device: CPU);
        const int QuestionLength = 7;
        var questionIds = new long[questions * QuestionLength];
        var questionMask = new long[questions * QuestionLength];
        var random = new Random(seed);
        for (var q = 0; q < questions; q++)
        {
            var words = 2 + (q % 4);
            long[] sequence = [Tokens.ClsId, .. Enumerable.Range(0, words).Select(_ => (long)random.Next(7, TinyBlip.VocabSize)), Tokens.SepId];
            sequence.CopyTo(questionIds, q * QuestionLength);
            questionMask.AsSpan(q * QuestionLength, sequence.Length).Fill(1);
        }

        var answers = new List<long[]>();
        var owners = new List<long>();
        var weights = new List<float>();
        for (var q = 0; q < questions; q++)
        {
            for (var a = 0; a < answersPerQuestion[q]; a++)
            {
                answers.Add([.. Enumerable.Range(0, 1 + random.Next(3)).Select(_ => (long)random.Next(7, TinyBlip.VocabSize))]);
                owners.Add(q);
                weights.Add((a + 1f) / 10f);
            }
        }

        var (answerIds, answerMask) = Padded([.. answers]);
        return new BlipVqaBatch(
            images, tensor(questionIds, [questions, QuestionLength], device: CPU), tensor(questionMask, [questions, QuestionLength], device: CPU),
            answerIds, answerMask, tensor(owners.ToArray(), device: CPU), tensor(weights.ToArray(), device: CPU));
    }

    private static void AssertEqual(Tensor expected, Tensor actual) => Assert.True(expected.equal(actual).all().item<bool>());
}
