namespace Hybrid.Training.Config;

/// <summary>Settings of the actor-critic loss (A2C, A3C, IMPALA): L = policy loss + value_coef * value loss - entropy_coef * entropy.</summary>
public abstract record ActorCriticConfig : AlgoConfig
{
    /// <summary>
    /// Value loss weight c_v in policy + c_v * (R - V)^2 / 2 - entropy. Stable-Baselines3 weighs vf_coef * (R - V)^2
    /// (its mean squared error has no half), so SB3's vf_coef 0.5 is value_coef 1.0 here.
    /// </summary>
    [Description("Value loss weight c_v in policy + c_v (R - V)^2 / 2 - entropy (SB3's vf_coef 0.5 is value_coef 1.0: its squared error has no half).")]
    public float ValueCoef { get; init; } = 0.5f;

    /// <summary>Separate policy and value networks (each its own torso of the hidden layers) instead of one shared torso, as SB3's MLP policies.</summary>
    [Description("Give the value head a torso of its own (separate policy and value networks, as Stable-Baselines3's MLP policies) instead of sharing one (a2c, a3c, impala, ga3c, hybrid; the device path shares).")]
    public bool SeparateNetworks { get; init; }

    /// <summary>Entropy bonus weight. Mnih et al. 2016 use 0.01 on Atari; on CartPole that keeps the policy too random to average 475.</summary>
    [Description("Entropy bonus weight (Mnih et al. 2016 use 0.01 on Atari).")]
    public float EntropyCoef { get; init; }

    /// <summary>Normalize observations with running statistics, as SB3's VecNormalize.</summary>
    [Description("Normalize observations with their running mean and variance, clipped to [-10, 10], as SB3's VecNormalize (a2c, a3c).")]
    public bool NormalizeObservations { get; init; }

    /// <summary>For algorithms that do not normalize (their learners and actors keep no statistics): refuses either setting, naming the algorithm.</summary>
    /// <exception cref="ArgumentException">normalize_observations or normalize_rewards is true.</exception>
    protected void RefuseNormalization()
    {
        Require(!NormalizeObservations, "normalize_observations", NormalizeObservations, $"false: {Algo} does not normalize");
        Require(!NormalizeRewards, "normalize_rewards", NormalizeRewards, $"false: {Algo} does not normalize");
    }

    /// <summary>Scale rewards by the running standard deviation of the discounted return, as SB3's VecNormalize.</summary>
    [Description("Divide rewards by the running standard deviation of the discounted return, clipped to [-10, 10], as SB3's VecNormalize (a2c, a3c); metrics keep the env's returns.")]
    public bool NormalizeRewards { get; init; }

    /// <inheritdoc/>
    public override void Validate()
    {
        base.Validate();
        Require(ValueCoef >= 0 && float.IsFinite(ValueCoef), "value_coef", ValueCoef, ">= 0");
        Require(EntropyCoef >= 0 && float.IsFinite(EntropyCoef), "entropy_coef", EntropyCoef, ">= 0");
        if (this is IRecurrentConfig { Memory.Units: > 0 })
            Require(!SeparateNetworks, "separate_networks", SeparateNetworks, "false with recurrent lstm: the LSTM serves one torso shared by both heads");
    }
}
