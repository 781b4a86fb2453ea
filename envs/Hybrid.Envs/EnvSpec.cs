namespace Hybrid.Envs;

/// <summary>What a registered environment is: its name, spaces, time limit and thresholds.</summary>
/// <param name="Id">Registry name, e.g. <c>CartPole-v1</c>.</param>
/// <param name="ObservationSpace">Bounds of one lane's observation row.</param>
/// <param name="ActionSpace">One lane's action space.</param>
/// <param name="MaxEpisodeSteps">Gymnasium's <c>TimeLimit</c>: an episode is truncated at this many steps.</param>
/// <param name="RewardThreshold">Gymnasium's <c>reward_threshold</c>, or null where Gymnasium gives none.</param>
/// <param name="SolveThreshold">Mean return over the last 100 episodes that counts as solved (docs/architecture.md, "Solved").</param>
/// <param name="StateNames">Names of the internal state variables, in the order <c>SetState</c> takes them.</param>
public sealed record EnvSpec(
    string Id,
    BoxSpace ObservationSpace,
    Space ActionSpace,
    int MaxEpisodeSteps,
    double? RewardThreshold,
    double SolveThreshold,
    string[] StateNames)
{
    /// <summary>Floats per observation row.</summary>
    public int ObservationSize => ObservationSpace.Size;

    /// <summary>Internal state variables per lane.</summary>
    public int StateSize => StateNames.Length;

    /// <summary>Whether actions are integers (a <see cref="DiscreteSpace"/>).</summary>
    public bool IsDiscrete => ActionSpace is DiscreteSpace;
}
