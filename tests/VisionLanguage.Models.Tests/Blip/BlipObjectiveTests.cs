using VisionLanguage.Models.Blip;
using VisionLanguage.Testing;
using static TorchSharp.torch;

namespace VisionLanguage.Models.Tests.Blip;

public sealed class BlipObjectiveTests
{
    [Fact]
    public void Itc_loss_equals_a_hand_computation()
    {
        using var scope = NewDisposeScope();
        // Two pairs, 2-d features, a queue of two; every vector is unit length.
        var s = Math.Sqrt(0.5);
        double[][] image = [[1, 0], [0, 1]];
        double[][] text = [[s, s], [0, 1]];
        double[][] imageM = [[1, 0], [s, s]];
        double[][] textM = [[1, 0], [0, 1]];
        double[][] imageQueue = [[-1, 0], [0, -1]]; // columns are features: (-1, 0) and (0, -1)
        double[][] textQueue = [[0, 1], [1, 0]];    // (0, 1) and (1, 0)
        const double temperature = 0.5;
        const double alpha = 0.4;

        var result = BlipObjectives.Contrastive(
            Tensor(image), Tensor(text), Tensor(imageM), Tensor(textM), Tensor(imageQueue), Tensor(textQueue),
            tensor(temperature, float64), alpha);

        // By hand: columns of the "all" matrices are the batch's momentum features, then the queue's columns.
        double[][] textAll = [textM[0], textM[1], [textQueue[0][0], textQueue[1][0]], [textQueue[0][1], textQueue[1][1]]];
        double[][] imageAll = [imageM[0], imageM[1], [imageQueue[0][0], imageQueue[1][0]], [imageQueue[0][1], imageQueue[1][1]]];
        var lossI2T = SoftCrossEntropy(image, imageM, textAll, temperature, alpha);
        var lossT2I = SoftCrossEntropy(text, textM, imageAll, temperature, alpha);
        var expected = (lossI2T + lossT2I) / 2;

        Assert.Equal(expected, result.Loss.item<double>(), 12);
        Assert.Equal([2L, 4], result.SimI2T.shape);
    }

    [Fact]
    public void Hard_negatives_are_never_a_pair_of_the_same_image()
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(3);
        long[] imageIds = [10, 10, 11, 12, 12, 12, 13, 14];
        // Similarities that favour the positives strongly, so a careless sampler would pick them.
        var similarity = eye(8) * 50 + 0.1 * randn([8, 8], generator: generator);
        var counts = new int[8, 8];
        for (var draw = 0; draw < 200; draw++)
        {
            var (negativeImage, negativeText) = BlipObjectives.SampleHardNegatives(similarity, similarity.t(), imageIds, generator);
            var images = negativeImage.data<long>().ToArray();
            var texts = negativeText.data<long>().ToArray();
            for (var row = 0; row < 8; row++)
            {
                Assert.NotEqual(imageIds[row], imageIds[images[row]]);
                Assert.NotEqual(imageIds[row], imageIds[texts[row]]);
                counts[row, images[row]]++;
            }
        }

        // Every other image is possible: row 0's candidates are pairs 2 … 7.
        Assert.All(Enumerable.Range(2, 6), column => Assert.True(counts[0, column] > 0));
    }

    [Theory]
    [InlineData(1.0, 1950, 2050)]   // by similarity only: the favoured pair is drawn all but about 1e-4·3 of the time
    [InlineData(0.0, 570, 770)]     // uniform over the three other images: about 2,000 / 3
    [InlineData(0.5, 1350, 1500)]   // half and half: 0.5 + 0.5/4 = 0.625 of the weight on the favoured pair, of 0.875 allowed: 0.714, about 1,430
    public void The_hard_share_mixes_the_similarity_draw_with_a_uniform_one(double hardShare, int low, int high)
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(5);
        long[] imageIds = [0, 1, 2, 3];
        // Every row strongly favours pair 1 (row 1 favours 2): a similarity draw picks it, a uniform one does so a third of the time.
        var similarity = zeros(4, 4);
        similarity[.., 1] = tensor(40f);
        similarity[1, 2] = tensor(40f);
        var favoured = 0;
        for (var draw = 0; draw < 2000; draw++)
        {
            var (negativeImage, _) = BlipObjectives.SampleHardNegatives(similarity, similarity, imageIds, generator, hardShare);
            favoured += negativeImage[0].item<long>() == 1 ? 1 : 0;
        }

        Assert.InRange(favoured, low, high);
    }

    [Fact]
    public void A_batch_of_one_image_is_refused_with_a_clear_error()
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(3);
        var similarity = randn([3, 3], generator: generator);

        var error = Assert.Throws<InvalidOperationException>(() => BlipObjectives.SampleHardNegatives(similarity, similarity, [7, 7, 7], generator));
        Assert.Contains("at least two distinct images", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Swapped_negatives_edit_the_images_own_caption_and_the_rest_keep_the_drawn_caption()
    {
        using var scope = NewDisposeScope();
        // [CLS] 1, [SEP] 2, [PAD] 0; "a red circle", "a blue circle", "there is", "a red square" (padded to 5).
        long[][] captions = [[1, 10, 11, 13, 2], [1, 10, 12, 13, 2], [1, 15, 16, 2], [1, 10, 11, 14, 2]];
        var swaps = CaptionSwaps.Learn(captions, [0, 1, 2]);
        var ids = tensor(new long[] { 1, 10, 11, 13, 2, 1, 10, 12, 13, 2, 1, 15, 16, 2, 0, 1, 10, 11, 14, 2 }, [4, 5]);
        var mask = ids.ne(0).to_type(ScalarType.Int64);
        var drawn = tensor(new long[] { 1, 0, 3, 2 });
        // Rows 0 and 2 are drawn for a swap (0.1 < 0.5), rows 1 and 3 are not (0.9). Row 0 swaps its first editable
        // word (red → blue); row 2, "there is", has none and keeps its drawn caption, row 3 of the batch.
        var draws = tensor(new[] { 0.1, 0.0, 0.0, 0.9, 0.0, 0.0, 0.1, 0.0, 0.0, 0.9, 0.0, 0.0 }, [4, 3]);

        var (negativeIds, negativeMask, swapped) = BlipObjectives.NegativeTexts(ids, mask, drawn, draws, swaps, swapShare: 0.5);

        Assert.Equal([0], swapped);
        Assert.Equal(new long[] { 1, 10, 12, 13, 2 }, negativeIds[0].data<long>().ToArray());
        Assert.Equal(ids[0].data<long>().ToArray(), negativeIds[1].data<long>().ToArray());
        Assert.Equal(ids[3].data<long>().ToArray(), negativeIds[2].data<long>().ToArray());
        Assert.Equal(ids[2].data<long>().ToArray(), negativeIds[3].data<long>().ToArray());
        Assert.Equal(new long[] { 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0 }, negativeMask.flatten().data<long>().ToArray());
        Assert.Equal(ids.shape, negativeIds.shape);
    }

    [Fact]
    public void Swap_alternatives_are_made_from_each_rows_own_caption_candidate_by_candidate()
    {
        using var scope = NewDisposeScope();
        // "a red circle", "a blue circle", "a red square", "a blue square": red/blue between "a" and either shape,
        // circle/square between either colour and [SEP], so each caption has two editable positions.
        long[][] captions = [[1, 10, 11, 13, 2], [1, 10, 12, 13, 2], [1, 10, 11, 14, 2], [1, 10, 12, 14, 2]];
        var swaps = CaptionSwaps.Learn(captions, [0, 1, 2]);
        var ids = tensor(captions.SelectMany(caption => caption).ToArray(), [4, 5]);
        var mask = ones_like(ids);
        // Rows 2 and 0, two candidates each (position draw, word draw): a position draw of 0.0 picks the colour, 0.9
        // the shape. Row 2 ("a red square") draws colour then shape; row 0 ("a red circle") shape then colour.
        var draws = tensor(new[] { 0.0, 0.0, 0.9, 0.0, 0.9, 0.0, 0.0, 0.0 }, [2, 4]);

        var alternatives = BlipObjectives.SwapAlternatives(ids, mask, [2, 0], draws, swaps);

        Assert.Equal(
            new long[]
            {
                1, 10, 12, 14, 2, // candidate 0 of row 2: a blue square
                1, 10, 11, 14, 2, // candidate 0 of row 0: a red square
                1, 10, 11, 13, 2, // candidate 1 of row 2: a red circle
                1, 10, 12, 13, 2, // candidate 1 of row 0: a blue circle
            },
            alternatives.flatten().data<long>().ToArray());
        Assert.Equal(captions.SelectMany(caption => caption).ToArray(), ids.flatten().data<long>().ToArray());
    }

    [Fact]
    public void A_row_without_a_swappable_word_has_no_swap_alternatives()
    {
        using var scope = NewDisposeScope();
        long[][] captions = [[1, 10, 11, 13, 2], [1, 10, 12, 13, 2], [1, 15, 16, 2, 0]];
        var swaps = CaptionSwaps.Learn(captions, [0, 1, 2]);
        var ids = tensor(captions.SelectMany(caption => caption).ToArray(), [3, 5]);

        var error = Assert.Throws<ArgumentException>(() => BlipObjectives.SwapAlternatives(ids, ids.ne(0).to_type(ScalarType.Int64), [2], zeros(1, 2, dtype: float64), swaps));

        Assert.Contains("row 2 of the batch has no swappable word", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_hardest_candidate_of_each_row_is_the_one_scored_likeliest_to_match()
    {
        using var scope = NewDisposeScope();
        // Three candidates of two rows, candidate by candidate: ids 100 + 10j + s name candidate j of row s.
        var candidates = tensor(new long[] { 100, 101, 110, 111, 120, 121 }, [6, 1]);
        // Row 0 scores 0.2, 0.7, 0.1 (candidate 1 wins); row 1 scores 0.6, 0.3, 0.6 (a tie: the first, candidate 0).
        var scores = tensor(new[] { 0.2f, 0.6f, 0.7f, 0.3f, 0.1f, 0.6f });

        var hardest = BlipObjectives.Hardest(candidates, scores, rows: 2);

        Assert.Equal(new long[] { 110, 101 }, hardest.flatten().data<long>().ToArray());
    }

    [Fact]
    public void A_model_trained_with_swapped_negatives_needs_the_swaps_to_train_but_not_to_score()
    {
        using var data = TinyBlip.Data();
        using var batch = data.Batch(4, 0);
        using var model = new BlipPretrainModel(TinyBlip.Config() with { ItmSwapNegativeShare = 0.5 }, TinyBlip.Tokens, seed: 1);
        using var scope = NewDisposeScope();

        var score = model.MatchProbability(batch.TextIds, batch.TextMask, model.ImageEmbeddings(batch.Images));
        var error = Assert.Throws<InvalidOperationException>(() => model.call(batch, 0.0));

        Assert.Equal([4L], score.shape);
        Assert.Contains("CaptionSwaps.Learn", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Momentum_update_moves_each_copy_by_one_minus_m_towards_its_online_parameter()
    {
        using var model = TinyBlip.Model();
        using var scope = NewDisposeScope();
        var pairs = model.MomentumParameterPairs().ToList();
        Assert.NotEmpty(pairs);
        Assert.All(pairs, pair => Assert.True(pair.Online.equal(pair.Momentum).all().item<bool>()));
        using (no_grad())
        {
            foreach (var (online, _) in pairs)
            {
                online.add_(0.5);
            }
        }

        var before = pairs.Select(pair => (Online: pair.Online.detach().to_type(float64), Momentum: pair.Momentum.detach().to_type(float64))).ToList();
        model.MomentumUpdate();

        var m = model.Config.Momentum;
        for (var i = 0; i < pairs.Count; i++)
        {
            var expected = before[i].Momentum * m + before[i].Online * (1 - m);
            Assert.True(pairs[i].Momentum.to_type(float64).allclose(expected, rtol: 0, atol: 1e-6), $"pair {i}");
            Assert.False(pairs[i].Momentum.requires_grad);
        }
    }

    [Fact]
    public void Queue_enqueues_at_the_pointer_and_wraps_around()
    {
        using var model = TinyBlip.Model(queueSize: 8);
        using var scope = NewDisposeScope();
        Tensor Features(float value) => full([4, 16], value);

        model.DequeueAndEnqueue(Features(1), Features(-1));
        Assert.Equal(4, model.QueuePointer);
        model.DequeueAndEnqueue(Features(2), Features(-2));
        Assert.Equal(0, model.QueuePointer);
        model.DequeueAndEnqueue(Features(3), Features(-3));

        Assert.Equal(4, model.QueuePointer);
        var (image, text) = model.Queues;
        Assert.True(image.narrow(1, 0, 4).eq(3).all().item<bool>());
        Assert.True(image.narrow(1, 4, 4).eq(2).all().item<bool>());
        Assert.True(text.narrow(1, 0, 4).eq(-3).all().item<bool>());
        Assert.Throws<InvalidOperationException>(() => model.DequeueAndEnqueue(full([3, 16], 0f), full([3, 16], 0f)));
    }

    [Fact]
    public void Temperature_is_clamped_into_its_range_before_each_forward()
    {
        using var model = TinyBlip.Model();
        using var data = TinyBlip.Data();
        using var scope = NewDisposeScope();
        using var batch = data.Batch(size: 4, index: 0);
        using (no_grad())
        {
            model.Temperature.fill_(2.0);
        }

        model.call(batch, 0.4);

        Assert.Equal(0.5, model.Temperature.item<float>(), 6);
    }

    private static Tensor Tensor(double[][] rows) =>
        tensor(rows.SelectMany(row => row).ToArray(), rows.Length, rows[0].Length);

    private static double SoftCrossEntropy(double[][] queries, double[][] momentumQueries, double[][] keys, double temperature, double alpha)
    {
        var total = 0.0;
        for (var row = 0; row < queries.Length; row++)
        {
            var logits = keys.Select(key => Dot(queries[row], key) / temperature).ToArray();
            var momentumLogits = keys.Select(key => Dot(momentumQueries[row], key) / temperature).ToArray();
            var logNormaliser = Math.Log(logits.Sum(Math.Exp));
            var momentumNormaliser = momentumLogits.Sum(Math.Exp);
            for (var column = 0; column < keys.Length; column++)
            {
                var target = alpha * Math.Exp(momentumLogits[column]) / momentumNormaliser + (1 - alpha) * (column == row ? 1 : 0);
                total -= target * (logits[column] - logNormaliser);
            }
        }

        return total / queries.Length;
    }

    private static double Dot(double[] a, double[] b) => a.Zip(b, (x, y) => x * y).Sum();
}
