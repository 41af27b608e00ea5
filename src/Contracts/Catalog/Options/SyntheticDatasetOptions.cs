using System.ComponentModel.DataAnnotations;

namespace Orchestrator.Contracts.Catalog.Options;

/// <summary>Options of <c>dataset.synthetic</c>: rendered scenes of shapes with captions of known noise.</summary>
public sealed class SyntheticDatasetOptions
{
    [Option("Images in the web split (noisy captions)."), Range(10, 10_000_000)]
    public int Images { get; set; } = 2000;

    [Option("Images in the human split (clean captions, small)."), Range(1, 1_000_000)]
    public int HumanImages { get; set; } = 200;

    [Option("Images in the test split (clean captions)."), Range(1, 1_000_000)]
    public int TestImages { get; set; } = 500;

    [Option("Share of web captions corrupted (unrelated, or one attribute wrong)."), Range(0.0, 1.0)]
    public double WebNoise { get; set; } = 0.4;

    [Option("Side of the square images, in pixels."), Range(16, 1024)]
    public int ImageSize { get; set; } = 64;

    [Option("Seed; the same seed writes the same dataset.")]
    public int Seed { get; set; }

    [Option("VQA questions per image (colour, shape, count, position; different kinds, at most 4), written into every split about its own images as vqa/SPLIT.json in LAVIS's VQAv2 format; 0 writes none (and leaves the vocabulary to the captions)."), Range(0, 4)]
    public int VqaQuestions { get; set; }

    [Option("Share of the ten annotator answers per VQA question that are near answers (a neighbouring colour, a similar shape, the count one off or written as a word, a neighbouring place) rather than the true one; exactly round(answers x share) per split."), Range(0.0, 1.0)]
    public double VqaDisagreement { get; set; } = 0.2;

    [Option("NLVR2 examples per image of every split, written as nlvr2/SPLIT.json in BLIP's NLVR2 format: the image and another of its split (left and right in random order) with a statement about one of them ('in the left image there are two red circles'), exactly half of them true; a false one is a quarter of the time true of the other image (only telling the images apart shows it false), else recoloured so that it is false of both. 0 writes none (and leaves the vocabulary to the captions)."), Range(0, 8)]
    public int Nlvr2Pairs { get; set; }
}
