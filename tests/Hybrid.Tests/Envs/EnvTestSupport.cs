using Hybrid.Envs;

namespace Hybrid.Tests.Envs;

/// <summary>Paths and action helpers shared by the env tests.</summary>
static class EnvTestSupport
{
    /// <summary>The repository's copy of Gymnasium 0.29.1's reference transitions for <paramref name="envId"/>.</summary>
    public static string ReferenceFile(string envId) => Path.Combine(RepositoryRoot(), "envs", "reference", envId + ".csv");

    /// <summary>A shipped experiment preset, <c>experiments/NAME</c>.</summary>
    public static string ExperimentFile(string name) => Path.Combine(RepositoryRoot(), "experiments", name);

    /// <summary>The directory holding Hybrid.sln, found above the test binaries.</summary>
    static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Hybrid.sln")))
                return dir.FullName;
        throw new InvalidOperationException("Hybrid.sln not found above the test directory.");
    }

    /// <summary>The repository's copy of a MinAtar reference file (<c>conformance_vectors.csv</c>, <c>random_policy_stats.csv</c>).</summary>
    public static string MinAtarReferenceFile(string name) => Path.Combine(Path.GetDirectoryName(ReferenceFile("x"))!, "minatar", name);

    /// <summary>Steps every lane with deterministic actions that depend only on the lane and <paramref name="step"/>, whatever N.</summary>
    public static void Step(VectorEnv env, int step)
    {
        int n = env.NumEnvs;
        if (env.Spec.ActionSpace is DiscreteSpace d)
        {
            var actions = new int[n];
            for (int i = 0; i < n; i++) actions[i] = (int)((uint)(i * 7919 + step * 104729) % (uint)d.N);
            env.Step(actions);
        }
        else
        {
            var box = (BoxSpace)env.Spec.ActionSpace;
            var actions = new float[n];
            for (int i = 0; i < n; i++) actions[i] = box.High[0] * MathF.Sin(i * 0.7f + step * 1.3f) * 1.2f;
            env.Step(actions);
        }
    }
}
