namespace VisionLanguage.Data;

/// <summary>What a data pipeline does with an entry it cannot use.</summary>
public enum BadDataPolicy
{
    /// <summary>Stop, naming the entry.</summary>
    Fail,

    /// <summary>Leave the entry out and count it.</summary>
    Skip,
}
