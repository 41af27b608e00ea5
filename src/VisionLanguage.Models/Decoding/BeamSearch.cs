using TorchSharp;
using static TorchSharp.torch;

namespace VisionLanguage.Models.Decoding;

/// <summary>
/// Beam search as HuggingFace's <c>beam_search</c> with its <c>BeamSearchScorer</c> (length_penalty 1, no early
/// stopping), which BLIP and LAVIS use. Per image, B beams; each step scores every beam's continuations by the summed
/// log-probabilities (after the rules), takes the best 2B, and walks them in order: a [SEP] among the first B closes a
/// hypothesis scored by its summed log-probability divided by its length to the power length_penalty (the prompt
/// included unless <see cref="DecodingRules.UncountedPrefix"/> leaves it out, [SEP] not), any other token
/// continues a beam until B are filled. An image is done once it holds B hypotheses and no open beam can beat the
/// worst; at max_length the open beams join the hypotheses. The best hypothesis per image is returned.
/// </summary>
public static class BeamSearch
{
    /// <param name="session">The decoder, opened with <paramref name="beams"/> rows per image.</param>
    /// <param name="prompt">Prompt ids (images, P), [DEC] first.</param>
    /// <param name="beams">Beams per image.</param>
    /// <param name="rules">Lengths, special tokens, repetition penalty.</param>
    /// <returns>Per image: the prompt, the decoded tokens, and [SEP] unless max_length came first.</returns>
    public static long[][] Run(IDecoderSession session, Tensor prompt, int beams, DecodingRules rules)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(beams, 1);
        var promptLength = (int)prompt.shape[1];
        rules.CheckPrompt(promptLength);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var images = (int)prompt.shape[0];
        var device = prompt.device;
        var sequences = prompt.repeat_interleave(beams, dim: 0);                   // (images·B, P)
        // Only the first beam of an image is live at the start, or all B would pick the same tokens.
        var beamScores = zeros(images, beams, dtype: float32, device: device);
        using var dead = (-1e9).ToScalar();
        beamScores.narrow(1, 1, beams - 1).fill_(dead);
        beamScores = beamScores.view(-1);                                          // (images·B)
        var hypotheses = Enumerable.Range(0, images).Select(_ => new Hypotheses(beams, rules)).ToArray();
        var done = new bool[images];
        var logits = session.Next(sequences);                                      // (images·B, vocab)
        while (true)
        {
            var length = (int)sequences.shape[1];
            float[] candidateScores;
            long[] candidateIndices;
            long vocab;
            using (NewDisposeScope())
            {
                // A step's vocabulary-sized tensors go at its end; the candidates are copied out.
                var scores = logits.log_softmax(1);
                scores = LogitsProcessing.RepetitionPenalty(scores, sequences, rules);
                scores = LogitsProcessing.ForbidEndBefore(scores, length, rules);
                vocab = scores.shape[1];
                var total = (scores + beamScores.unsqueeze(1)).view(images, beams * vocab); // (images, B·vocab)
                var (topScores, topIndices) = total.topk(2 * beams, dim: 1);               // (images, 2B), best first
                candidateScores = topScores.cpu().data<float>().ToArray();
                candidateIndices = topIndices.cpu().data<long>().ToArray();
            }

            logits.Dispose();
            var rows = sequences.cpu().data<long>().ToArray();

            var nextRows = new long[images * beams];
            var nextTokens = new long[images * beams];
            var nextScores = new float[images * beams];
            for (var image = 0; image < images; image++)
            {
                if (done[image])
                {
                    // HuggingFace pads a finished image's beams and keeps them out of the way.
                    for (var beam = 0; beam < beams; beam++)
                    {
                        nextRows[image * beams + beam] = image * beams;
                        nextTokens[image * beams + beam] = rules.PadId;
                    }

                    continue;
                }

                var filled = 0;
                for (var rank = 0; rank < 2 * beams && filled < beams; rank++)
                {
                    var candidate = image * 2 * beams + rank;
                    var token = candidateIndices[candidate] % vocab;
                    var row = image * beams + (int)(candidateIndices[candidate] / vocab);
                    if (token == rules.SepId)
                    {
                        if (rank < beams)
                        {
                            hypotheses[image].Add(rows.AsSpan(row * length, length).ToArray(), candidateScores[candidate]);
                        }

                        continue;
                    }

                    nextRows[image * beams + filled] = row;
                    nextTokens[image * beams + filled] = token;
                    nextScores[image * beams + filled] = candidateScores[candidate];
                    filled++;
                }

                done[image] = hypotheses[image].IsDone(candidateScores[image * 2 * beams], length);
            }

            var rowIndex = tensor(nextRows, device: device);
            var tokenColumn = tensor(nextTokens, device: device).unsqueeze(1);          // (images·B, 1)
            sequences = cat([sequences.index_select(0, rowIndex), tokenColumn], dim: 1); // (images·B, T + 1)
            beamScores = tensor(nextScores, device: device);
            session.Reorder(rowIndex);
            if (sequences.shape[1] >= rules.MaxLength || done.All(finished => finished))
            {
                break;
            }

            logits = session.Next(tokenColumn);
        }

        // At max_length the open beams compete with the closed hypotheses, as HuggingFace's finalize does.
        var finalLength = (int)sequences.shape[1];
        var finalRows = sequences.cpu().data<long>().ToArray();
        var finalScores = beamScores.cpu().data<float>().ToArray();
        var best = new long[images][];
        for (var image = 0; image < images; image++)
        {
            if (!done[image])
            {
                for (var beam = 0; beam < beams; beam++)
                {
                    var row = image * beams + beam;
                    hypotheses[image].Add(finalRows.AsSpan(row * finalLength, finalLength).ToArray(), finalScores[row]);
                }
            }

            var chosen = hypotheses[image].Best();
            best[image] = chosen.Length < rules.MaxLength ? [.. chosen, rules.SepId] : chosen;
        }

        return best;
    }

    /// <summary>HuggingFace's <c>BeamHypotheses</c>: the B best finished sequences of one image, scored by sum / length^length_penalty.</summary>
    private sealed class Hypotheses(int capacity, DecodingRules rules)
    {
        private readonly List<(double Score, long[] Tokens)> _kept = [];
        private double _worst = 1e9;

        public void Add(long[] tokens, double sumLogProbabilities)
        {
            var score = sumLogProbabilities / rules.ScoredLength(tokens.Length);
            if (_kept.Count < capacity || score > _worst)
            {
                _kept.Add((score, tokens));
                if (_kept.Count > capacity)
                {
                    var ordered = _kept.Select((entry, index) => (entry.Score, index)).Order().ToList();
                    _kept.RemoveAt(ordered[0].index);
                    _worst = ordered[1].Score;
                }
                else
                {
                    _worst = Math.Min(score, _worst);
                }
            }
        }

        /// <summary>No open beam can still beat the worst kept hypothesis (HuggingFace's test, with the current length).</summary>
        public bool IsDone(double bestOpenSum, int length) =>
            _kept.Count >= capacity && _worst >= bestOpenSum / rules.ScoredLength(length);

        public long[] Best() => _kept.MaxBy(entry => entry.Score).Tokens;
    }
}
