namespace Orchestrator.Grains.Events;

/// <summary>What an <see cref="ExperimentEvent"/> reports; its lower-case name is the server-sent event's <c>event:</c> type.</summary>
[GenerateSerializer, Alias("ExperimentEventType")]
public enum ExperimentEventType
{
    /// <summary>The experiment's status changed; Succeeded, Failed and Cancelled end the event stream.</summary>
    Experiment,

    /// <summary>A stage's status changed (its version grew).</summary>
    Stage,

    /// <summary>A stage's current run reported a step.</summary>
    Progress,
}
