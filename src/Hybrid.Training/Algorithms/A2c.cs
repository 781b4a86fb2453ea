namespace Hybrid.Training.Algorithms;

/// <summary>
/// A2C settings. Defaults follow Stable-Baselines3's A2C (itself OpenAI Baselines'): 8 lanes, t_max 5, RMSProp
/// (lr 7e-4, alpha 0.99, eps 1e-5), value weight 0.5, gradient-norm clip 0.5, gamma 0.99, and the rl-baselines3-zoo
/// CartPole-v1 entry (entropy weight 0, budget 5e5).
/// </summary>
public sealed record A2cConfig : ActorCriticConfig
{
    /// <inheritdoc/>
    public override string Algo => "a2c";

    /// <summary>Env lanes stepped together (N).</summary>
    [Description("Env lanes stepped together (N).")]
    public int NumEnvs { get; init; } = 8;

    /// <summary>GAE lambda; 1 gives n-step returns.</summary>
    [Description("GAE lambda; 1 gives the paper's n-step returns.")]
    public float GaeLambda { get; init; } = 1f;

    /// <summary>Samples per update.</summary>
    public int BatchSize => NumEnvs * TMax;

    /// <inheritdoc/>
    public override int TotalEnvs => NumEnvs;

    /// <inheritdoc/>
    public override void Validate()
    {
        base.Validate();
        Require(NumEnvs >= 1, "num_envs", NumEnvs, ">= 1");
        Require(GaeLambda is >= 0 and <= 1, "gae_lambda", GaeLambda, "in [0, 1]");
    }
}

/// <summary>
/// Synchronous advantage actor-critic: the synchronous, batched variant of Mnih et al. 2016's A3C (as OpenAI
/// Baselines named it). N lanes act together with one batched forward pass per step; after t_max steps one update
/// uses all N * t_max samples. Deterministic for a seed: one thread draws every random number in a fixed order.
/// </summary>
public static class A2c
{
    /// <summary>Trains until the budget is spent (or the run is solved, with <see cref="AlgoConfig.StopWhenSolved"/>).</summary>
    /// <exception cref="ArgumentException">The config is invalid; the message names the field.</exception>
    /// <exception cref="TrainingDivergedException">A loss, the gradient or theta became NaN or infinite.</exception>
    public static RunSummary Train(A2cConfig config, RunMonitor monitor)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(monitor);
        config.Validate();
        int n = config.NumEnvs;

        // Environment lanes, network, theta and RMSProp.
        VectorEnv env = config.MakeEnv(n);
        env.Reset((ulong)config.Seed);
        var net = (ActorCriticNetwork)Acting.ActorCriticSpec(config).Build();
        net.Threads = config.Threads;
        float[] theta = Acting.InitialTheta(net, config.Seed);
        var gradient = new float[net.ParameterCount];
        RmsProp optimizer = UpdateRules.RmsProp(config, theta.Length);
        var rng = new Rng((ulong)config.Seed, 1);
        var rollout = new Rollout(config.TMax, n, env.Spec);
        var update = new ActorCriticUpdate(net, config.TMax, n);

        while (!monitor.ShouldStop)
        {
            // Act: t_max steps of every lane with one batched forward pass per step.
            rollout.Clear();
            for (int t = 0; t < config.TMax; t++)
            {
                Acting.Step(net, theta, env, rollout, config.Gamma, rng, recordLogProbabilities: false);
                monitor.AddSteps(n);
                monitor.AddEpisodes(env.Episodes.Records);
                env.Episodes.Clear();
            }

            // Learn: one gradient over all N * t_max samples, clipped, applied by RMSProp.
            long index = monitor.Updates + 1;
            Array.Clear(gradient);
            LossTerms terms = update.AddGradient(theta, rollout, env.Observations, config.GaeLambda, config.ValueCoef, config.EntropyCoef, null, gradient);
            UpdateRules.CheckFinite(terms, "a2c", index);
            UpdateRules.Clip(gradient, config.MaxGradNorm, "a2c", index);
            optimizer.Step(theta, gradient, UpdateRules.LearningRate(config, monitor.EnvSteps));
            UpdateRules.CheckParameters(theta, "a2c", index);
            monitor.AddUpdate(terms);
            monitor.Flush();
        }
        return monitor.Finish(config.Threads, n);
    }
}
