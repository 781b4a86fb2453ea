using System.Globalization;
using Hybrid.Envs.Simd;

namespace Hybrid.Envs.Checking;

/// <summary>
/// Checks that an env keeps the vector-env contract, in the spirit of Gymnasium's <c>check_env</c>: spaces and buffer
/// types, observations inside their bounds, determinism under a seed, the same trajectories whatever the lane count,
/// width or thread split, the reset/step/auto-reset contract, the episode log, truncation at the time limit, and
/// rejection of bad actions without stepping. Returns the problems found; an empty list means the env passed.
/// </summary>
public static class EnvChecker
{
    const int Lanes = 8;
    const ulong Seed = 20240529, OtherSeed = 7;
    const int RolloutCap = 3000;

    /// <summary>Checks the registered env <paramref name="envId"/>.</summary>
    /// <exception cref="ArgumentException">Unknown env.</exception>
    public static IReadOnlyList<string> Check(string envId)
    {
        EnvRegistry.Spec(envId);
        return Check(n => EnvRegistry.Make(envId, n), n => EnvRegistry.Make(envId, n, LaneWidth.Scalar));
    }

    /// <summary>
    /// Checks envs built by <paramref name="make"/> (N lanes at the default width) against envs built by
    /// <paramref name="makeScalar"/> (N lanes, one at a time), which must step the same dynamics.
    /// </summary>
    public static IReadOnlyList<string> Check(Func<int, VectorEnv> make, Func<int, VectorEnv> makeScalar)
    {
        ArgumentNullException.ThrowIfNull(make);
        ArgumentNullException.ThrowIfNull(makeScalar);
        var problems = new List<string>();
        VectorEnv env = make(Lanes);
        CheckSpaces(env, problems);
        CheckBeforeReset(env, problems);
        env.Reset(Seed);
        CheckReset(env, problems);
        CheckRollout(env, problems);
        CheckDeterminism(make, makeScalar, problems);
        CheckTimeLimit(make(Lanes), problems);
        CheckBadActions(make(Lanes), problems);
        return problems;
    }

    static void CheckSpaces(VectorEnv env, List<string> problems)
    {
        EnvSpec spec = env.Spec;
        void Require(bool ok, string what)
        {
            if (!ok) problems.Add($"{spec.Id}: {what}");
        }
        Require(spec.ObservationSpace.ElementType == typeof(float), "observations must be float32");
        Require(spec.ObservationSize == env.ObservationSize && spec.ObservationSize > 0, "observation size disagrees with the observation space");
        Require(env.Observations.Length == env.NumEnvs * env.ObservationSize, "Observations is not N * obsSize long");
        Require(env.FinalObservations.Length == env.Observations.Length, "FinalObservations is not N * obsSize long");
        Require(env.Rewards.Length == env.NumEnvs && env.Terminated.Length == env.NumEnvs && env.Truncated.Length == env.NumEnvs,
            "Rewards, Terminated and Truncated must each be N long");
        Require(spec.MaxEpisodeSteps > 0, "MaxEpisodeSteps must be positive");
        switch (spec.ActionSpace)
        {
            case DiscreteSpace d:
                Require(d.N > 0 && d.ElementType == typeof(int), "a discrete action space needs N > 0 int actions");
                break;
            case BoxSpace b:
                for (int i = 0; i < b.Size; i++)
                    Require(float.IsFinite(b.Low[i]) && float.IsFinite(b.High[i]), $"action bound {i} must be finite to clip to it");
                Require(b.ElementType == typeof(float), "continuous actions must be float32");
                break;
            default:
                problems.Add($"{spec.Id}: action space {spec.ActionSpace} is neither discrete nor a box");
                break;
        }
    }

    static void CheckBeforeReset(VectorEnv env, List<string> problems)
    {
        try
        {
            StepRandom(env, new Random(1));
            problems.Add($"{env.Id}: Step before Reset did not throw");
        }
        catch (InvalidOperationException) { }
    }

    static void CheckReset(VectorEnv env, List<string> problems)
    {
        CheckObservations(env, env.Observations, "after Reset", problems);
        if (env.Terminated.Contains(true) || env.Truncated.Contains(true)) problems.Add($"{env.Id}: flags set after Reset");
        if (env.Episodes.Count != 0) problems.Add($"{env.Id}: episode log not empty after Reset");
        for (int i = 0; i < env.NumEnvs; i++)
            if (env.ElapsedSteps(i) != 0) problems.Add($"{env.Id}: lane {i} has {env.ElapsedSteps(i)} elapsed steps after Reset");
    }

    /// <summary>Random actions for the time limit plus a margin; the checker keeps its own episode books to compare.</summary>
    static void CheckRollout(VectorEnv env, List<string> problems)
    {
        int n = env.NumEnvs, obsSize = env.ObservationSize, max = env.Spec.MaxEpisodeSteps;
        // Long enough for every classic-control limit and for Freeway's fixed 2501-step episodes; envs with a far
        // limit (MinAtar's 108,000) must end episodes by themselves in that time, and CheckTimeLimit covers truncation.
        int steps = Math.Min(max + 20, RolloutCap);
        var random = new Random(3);
        var length = new int[n];
        var sum = new float[n];
        int ended = 0, truncations = 0;
        for (int step = 0; step < steps && problems.Count < 20; step++)
        {
            env.Episodes.Clear();
            float[] before = env.Observations.ToArray();
            StepRandom(env, random);
            CheckObservations(env, env.Observations, $"at step {step}", problems);
            int logged = 0;
            for (int i = 0; i < n; i++)
            {
                float r = env.Rewards[i];
                if (!float.IsFinite(r)) problems.Add($"{env.Id}: lane {i} reward {r} at step {step}");
                length[i]++;
                sum[i] += r;
                bool done = env.Terminated[i] || env.Truncated[i];
                if (env.Truncated[i] != (length[i] == max))
                    problems.Add($"{env.Id}: lane {i} truncated={env.Truncated[i]} after {length[i]} steps; the limit is {max}");
                if (!done)
                {
                    if (env.ElapsedSteps(i) != length[i]) problems.Add($"{env.Id}: lane {i} counts {env.ElapsedSteps(i)} steps; expected {length[i]}");
                    continue;
                }
                ended++;
                if (env.Truncated[i]) truncations++;
                ReadOnlySpan<float> final = env.FinalObservations.Slice(i * obsSize, obsSize);
                CheckObservations(env, final, $"final observation of lane {i} at step {step}", problems);
                if (final.SequenceEqual(env.Observations.Slice(i * obsSize, obsSize)) && final.SequenceEqual(before.AsSpan(i * obsSize, obsSize)))
                    problems.Add($"{env.Id}: lane {i} ended at step {step} but its observation did not change");
                if (env.ElapsedSteps(i) != 0) problems.Add($"{env.Id}: lane {i} was not reset after its episode ended");
                EpisodeRecord? record = null;
                foreach (EpisodeRecord e in env.Episodes.Records) if (e.Lane == i) record = e;
                if (record is not { } rec)
                    problems.Add($"{env.Id}: lane {i} ended at step {step} but the episode log has no record of it");
                else
                {
                    logged++;
                    if (rec.Length != length[i] || rec.Return != sum[i] || rec.Terminated != env.Terminated[i])
                        problems.Add(string.Create(CultureInfo.InvariantCulture,
                            $"{env.Id}: lane {i} logged length {rec.Length}, return {rec.Return}, terminated {rec.Terminated}; expected {length[i]}, {sum[i]}, {env.Terminated[i]}"));
                }
                length[i] = 0;
                sum[i] = 0;
            }
            if (logged != env.Episodes.Count) problems.Add($"{env.Id}: the log has {env.Episodes.Count} records at step {step}; {logged} lanes ended");
        }
        if (ended == 0) problems.Add($"{env.Id}: no episode ended within {steps} steps");
    }

    static void CheckDeterminism(Func<int, VectorEnv> make, Func<int, VectorEnv> makeScalar, List<string> problems)
    {
        VectorEnv a = make(Lanes), b = make(Lanes), few = make(3), scalar = makeScalar(Lanes);
        int threadLanes = 2 * VectorEnv.MinLanesPerThread + 5;
        VectorEnv split = make(threadLanes), whole = make(threadLanes);
        split.Threads = 2;
        foreach (VectorEnv e in new[] { a, b, few, scalar, split, whole }) e.Reset(Seed);
        var other = make(Lanes);
        other.Reset(OtherSeed);
        // Some games reset without a draw (MinAtar's Asterix), so the seeds need only part ways within the steps run.
        bool seedsDiffer = !other.Observations.SequenceEqual(a.Observations);

        int steps = Math.Min(a.Spec.MaxEpisodeSteps + 5, 300);
        for (int step = 0; step < steps; step++)
        {
            StepRandom(a, new Random(1000 + step));
            foreach (VectorEnv e in new[] { b, few, scalar, split, whole, other }) StepRandom(e, new Random(1000 + step));
            seedsDiffer |= !other.Observations.SequenceEqual(a.Observations);
            Compare(a, b, a.NumEnvs, $"two envs with seed {Seed} differ at step {step}", problems);
            Compare(a, few, few.NumEnvs, $"lanes 0-2 of a 3-lane env differ from an 8-lane env's at step {step}", problems);
            Compare(a, scalar, a.NumEnvs, $"{a.Width} lanes differ from scalar lanes at step {step}", problems);
            Compare(split, whole, split.NumEnvs, $"an env stepped on 2 threads differs from one stepped on 1 at step {step}", problems);
            if (problems.Count > 0) return;
        }
        if (!seedsDiffer) problems.Add($"{a.Id}: seeds {Seed} and {OtherSeed} give the same observations for {steps} steps");
    }

    /// <summary>A lane set to one step before the limit must be truncated on the next step and log the full length.</summary>
    static void CheckTimeLimit(VectorEnv env, List<string> problems)
    {
        int max = env.Spec.MaxEpisodeSteps;
        env.Reset(Seed);
        env.SetElapsedSteps(0, max - 1);
        StepRandom(env, new Random(9));
        if (!env.Truncated[0]) problems.Add($"{env.Id}: a lane at step {max - 1} of {max} was not truncated by its next step");
        else if (env.Episodes.Count == 0 || env.Episodes.Records[0].Length != max)
            problems.Add($"{env.Id}: a truncated episode was not logged with length {max}");
        for (int i = 1; i < env.NumEnvs; i++)
            if (env.Truncated[i]) problems.Add($"{env.Id}: lane {i} was truncated after one step");
    }

    static void CheckBadActions(VectorEnv env, List<string> problems)
    {
        env.Reset(Seed);
        float[] before = env.Observations.ToArray();
        int n = env.NumEnvs;
        void Expect(Action step, string what)
        {
            try
            {
                step();
                problems.Add($"{env.Id}: {what} was accepted");
            }
            catch (ArgumentException e) when (e.Message.Contains(env.Id, StringComparison.Ordinal)) { }
            catch (Exception e)
            {
                problems.Add($"{env.Id}: {what} threw {e.GetType().Name} without naming the env: {e.Message}");
            }
            if (!env.Observations.SequenceEqual(before)) problems.Add($"{env.Id}: {what} changed the observations");
        }
        if (env.Spec.ActionSpace is DiscreteSpace d)
        {
            Expect(() => env.Step(new int[n + 1]), "an action buffer one too long");
            var actions = new int[n];
            actions[n - 1] = d.N;
            Expect(() => env.Step(actions), $"action {d.N}");
            actions[n - 1] = -1;
            Expect(() => env.Step(actions), "action -1");
        }
        else
        {
            int size = env.Spec.ActionSpace.Size;
            Expect(() => env.Step(new float[n * size - 1]), "an action buffer one too short");
            var actions = new float[n * size];
            actions[^1] = float.NaN;
            Expect(() => env.Step(actions), "a NaN action");
            actions[^1] = float.PositiveInfinity;
            Expect(() => env.Step(actions), "an infinite action");
        }
    }

    static void Compare(VectorEnv a, VectorEnv b, int lanes, string what, List<string> problems)
    {
        int o = lanes * a.ObservationSize;
        bool same = a.Observations[..o].SequenceEqual(b.Observations[..o])
            && a.Rewards[..lanes].SequenceEqual(b.Rewards[..lanes])
            && a.Terminated[..lanes].SequenceEqual(b.Terminated[..lanes])
            && a.Truncated[..lanes].SequenceEqual(b.Truncated[..lanes]);
        if (!same) problems.Add($"{a.Id}: {what}");
    }

    static void CheckObservations(VectorEnv env, ReadOnlySpan<float> observations, string when, List<string> problems)
    {
        BoxSpace space = env.Spec.ObservationSpace;
        int size = space.Size;
        for (int k = 0; k < observations.Length; k++)
            if (!space.Contains(k % size, observations[k]))
            {
                problems.Add(string.Create(CultureInfo.InvariantCulture,
                    $"{env.Id}: observation element {k % size} of lane {k / size} was {observations[k]} {when}; expected within [{space.Low[k % size]}, {space.High[k % size]}]"));
                return;
            }
    }

    /// <summary>
    /// Random actions: uniform discrete ones, or continuous ones drawn from 1.5 times the box so that clipping runs.
    /// </summary>
    static void StepRandom(VectorEnv env, Random random)
    {
        int n = env.NumEnvs;
        if (env.Spec.ActionSpace is DiscreteSpace d)
        {
            var actions = new int[n];
            for (int i = 0; i < n; i++) actions[i] = random.Next(d.N);
            env.Step(actions);
        }
        else
        {
            var box = (BoxSpace)env.Spec.ActionSpace;
            var actions = new float[n * box.Size];
            for (int k = 0; k < actions.Length; k++)
            {
                int v = k % box.Size;
                float mid = (box.Low[v] + box.High[v]) / 2, half = (box.High[v] - box.Low[v]) / 2;
                actions[k] = mid + half * 1.5f * (2 * random.NextSingle() - 1);
            }
            env.Step(actions);
        }
    }
}
