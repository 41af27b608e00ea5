using VisionLanguage.Models.Decoding;
using static TorchSharp.torch;

namespace VisionLanguage.Models.Tests.Decoding;

public sealed class SearchTests
{
    // Tokens of the known-logits decoder: 0 [PAD], 1 the prompt's [DEC], 2 [SEP], 3 … 7 words.
    private const int Vocab = 8;
    private const long Pad = 0;
    private const long Dec = 1;
    private const long Sep = 2;

    /// <summary>
    /// After [DEC]: 3 (0.6) or 4 (0.4). After 3: 5 (0.4), 4 (0.35), [SEP] (0.25). After 4: [SEP] (0.95). After 5:
    /// [SEP] (0.9), 3 (0.1). The greedy path 1 3 5 [SEP] has log-probability ln .6 + ln .4 + ln .9 = −1.532; the
    /// path 1 4 [SEP] has ln .4 + ln .95 = −0.967, the best sequence.
    /// </summary>
    private static IReadOnlyDictionary<long, double> Table(IReadOnlyList<long> sequence) => sequence[^1] switch
    {
        1 => new Dictionary<long, double> { [3] = 0.6, [4] = 0.4 },
        3 => new Dictionary<long, double> { [5] = 0.4, [4] = 0.35, [Sep] = 0.25 },
        4 => new Dictionary<long, double> { [Sep] = 0.95, [6] = 0.05 },
        5 => new Dictionary<long, double> { [Sep] = 0.9, [3] = 0.1 },
        _ => new Dictionary<long, double> { [Sep] = 0.5, [7] = 0.5 },
    };

    private static DecodingRules Rules(int min = 0, int max = 10, double penalty = 1.0) => new(min, max, Sep, Pad, penalty);

    private static Tensor Prompt(int rows) => full(rows, 1, Dec, dtype: int64);

    [Fact]
    public void Greedy_search_takes_the_best_token_at_every_step()
    {
        using var scope = NewDisposeScope();
        using var session = new KnownLogitsSession(Vocab, Table);

        var result = GreedySearch.Run(session, Prompt(1), Rules());

        Assert.Equal([Dec, 3, 5, Sep], result[0]);
    }

    [Fact]
    public void Beam_search_finds_the_sequence_greedy_misses()
    {
        using var scope = NewDisposeScope();
        using var session = new KnownLogitsSession(Vocab, Table);

        // Two beams. Step 1: beams [1 3] (−0.511) and [1 4] (−0.916). Step 2: [1 4 SEP] = −0.967 ranks first and closes a
        // hypothesis scored −0.967 / 2 = −0.484 (length without [SEP]); beams go on as [1 3 5] (−1.427) and [1 3 4]
        // (−1.561). Step 3: [1 3 5 SEP] (−1.532 / 3 = −0.511) and [1 3 4 SEP] (−1.612 / 3 = −0.537) close; the two best
        // kept are −0.484 and −0.511, and the best open continuation (−1.532 / 3) cannot beat −0.511, so the search ends.
        var result = BeamSearch.Run(session, Prompt(1), beams: 2, Rules());

        Assert.Equal([Dec, 4, Sep], result[0]);
        Assert.Equal(3, session.Calls);
    }

    [Fact]
    public void Beam_search_decodes_each_image_on_its_own()
    {
        using var scope = NewDisposeScope();
        // Image 1's decoder puts 0.99 on 3 after [DEC]: its best is 1 3 5 [SEP] (ln .99 + ln .4 + ln .9 = −1.031, / 3 =
        // −0.344) rather than 1 3 4 [SEP] (−1.111 / 3 = −0.370) or 1 3 [SEP] (−1.396 / 2 = −0.698). Image 0 is as above.
        using var session = new KnownLogitsSession(
            Vocab,
            (image, sequence) => image == 1 && sequence.Count == 1 ? new Dictionary<long, double> { [3] = 0.99, [4] = 0.01 } : Table(sequence),
            rowsPerImage: 2);

        var result = BeamSearch.Run(session, Prompt(2), beams: 2, Rules());

        Assert.Equal([Dec, 4, Sep], result[0]);
        Assert.Equal([Dec, 3, 5, Sep], result[1]);
    }

    [Theory]
    [InlineData(CaptionSearch.Greedy)]
    [InlineData(CaptionSearch.Beam)]
    [InlineData(CaptionSearch.Nucleus)]
    public void Sep_is_forbidden_before_min_length(CaptionSearch search)
    {
        using var scope = NewDisposeScope();
        // [SEP] is the likeliest token everywhere; the rest goes to 3 and 4.
        using var session = new KnownLogitsSession(Vocab, _ => new Dictionary<long, double> { [Sep] = 0.8, [3] = 0.15, [4] = 0.05 });

        var result = Run(search, session, Rules(min: 4));

        // Lengths count [DEC]: the sequence reaches 4 tokens before [SEP] may come; the searches then take it at once,
        // sampling takes it with probability 0.8 at each later step.
        Assert.All(result, sequence =>
        {
            Assert.DoesNotContain(Sep, sequence[..4]);
            Assert.Equal(Sep, sequence[^1]);
            Assert.Equal(Sep, sequence[search == CaptionSearch.Nucleus ? ^1 : 4]);
        });
    }

    [Theory]
    [InlineData(CaptionSearch.Greedy)]
    [InlineData(CaptionSearch.Beam)]
    [InlineData(CaptionSearch.Nucleus)]
    public void Decoding_stops_at_max_length(CaptionSearch search)
    {
        using var scope = NewDisposeScope();
        // [SEP] never comes.
        using var session = new KnownLogitsSession(Vocab, _ => new Dictionary<long, double> { [3] = 0.6, [4] = 0.4 });

        var result = Run(search, session, Rules(max: 6));

        Assert.All(result, sequence =>
        {
            Assert.Equal(6, sequence.Length);
            Assert.DoesNotContain(Sep, sequence);
        });
        Assert.Equal(5, session.Calls);
    }

    [Fact]
    public void Nucleus_sampling_never_draws_outside_the_top_p_set()
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(42);
        // Sorted probabilities 0.5, 0.2, 0.15, 0.1, 0.05: the cumulative sums before each token are 0, 0.5, 0.7, 0.85,
        // 0.95, so top_p 0.8 keeps tokens 3, 4, 5 (the third crosses 0.8) and never 6 or 7.
        var table = new Dictionary<long, double> { [3] = 0.5, [4] = 0.2, [5] = 0.15, [6] = 0.1, [7] = 0.05 };
        using var session = new KnownLogitsSession(Vocab, _ => table);
        const int draws = 3000;

        var result = NucleusSampling.Run(session, Prompt(draws), Rules(max: 2), topP: 0.8, topK: 0, generator);

        var counts = result.Select(sequence => sequence[1]).GroupBy(token => token).ToDictionary(group => group.Key, group => group.Count());
        Assert.Equal([3L, 4, 5], counts.Keys.Order());
        // Renormalised over the nucleus: 0.5 / 0.85 = 0.588, 0.2 / 0.85 = 0.235, 0.15 / 0.85 = 0.176.
        Assert.InRange(counts[3] / (double)draws, 0.55, 0.63);
        Assert.InRange(counts[5] / (double)draws, 0.15, 0.21);
    }

    [Fact]
    public void Nucleus_sampling_with_the_same_seed_draws_the_same_captions()
    {
        using var scope = NewDisposeScope();
        var table = new Dictionary<long, double> { [Sep] = 0.2, [3] = 0.3, [4] = 0.3, [5] = 0.2 };
        long[][] Draw(int seed)
        {
            using var generator = new Generator((ulong)seed);
            using var session = new KnownLogitsSession(Vocab, _ => table);
            return NucleusSampling.Run(session, Prompt(20), Rules(max: 8), topP: 0.95, topK: 0, generator);
        }

        Assert.Equal(Draw(3), Draw(3));
        Assert.NotEqual(Draw(3), Draw(4));
    }

    [Fact]
    public void Repetition_penalty_divides_positive_and_multiplies_negative_scores_of_seen_tokens()
    {
        using var scope = NewDisposeScope();
        var scores = tensor(new float[] { 2.0f, -1.0f, 0.5f, -3.0f }, [1, 4]);
        var sequence = tensor(new long[] { 0, 1, 1 }, [1, 3]);

        var penalised = LogitsProcessing.RepetitionPenalty(scores, sequence, 2.0);

        // Token 0 (2.0) → 1.0, token 1 (−1.0) → −2.0 (once, though seen twice); 2 and 3 were not seen.
        Assert.Equal([1.0f, -2.0f, 0.5f, -3.0f], penalised.data<float>().ToArray());
    }

    [Fact]
    public void Top_p_keeps_the_smallest_set_that_exceeds_p_and_always_the_best_token()
    {
        using var scope = NewDisposeScope();
        var scores = log(tensor(new[] { 0.1f, 0.6f, 0.3f }, [1, 3]));

        var atHalf = LogitsProcessing.TopP(scores, 0.5).data<float>().ToArray();
        var atSeventy = LogitsProcessing.TopP(scores, 0.7).data<float>().ToArray();

        Assert.Equal([false, true, false], atHalf.Select(float.IsFinite));   // 0.6 alone exceeds 0.5
        Assert.Equal([false, true, true], atSeventy.Select(float.IsFinite)); // 0.6 + 0.3 exceeds 0.7
    }

    private static long[][] Run(CaptionSearch search, IDecoderSession session, DecodingRules rules)
    {
        using var generator = new Generator(1);
        return search switch
        {
            CaptionSearch.Beam => BeamSearch.Run(session, Prompt(1), beams: 3, rules),
            CaptionSearch.Nucleus => NucleusSampling.Run(session, Prompt(4), rules, topP: 0.95, topK: 0, generator),
            _ => GreedySearch.Run(session, Prompt(2), rules),
        };
    }
}
