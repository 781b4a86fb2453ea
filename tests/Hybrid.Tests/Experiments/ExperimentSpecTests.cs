using Hybrid.Experiments;
using Hybrid.Training.Algorithms;
using Hybrid.Training.Config;

namespace Hybrid.Tests.Experiments;

public class ExperimentSpecTests
{
    const string DocumentedShape = """
        name: cartpole-a2c-vs-a3c
        envs: [CartPole-v1]             # one or more env ids
        seeds: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]
        max_env_steps: 500000           # the budget every arm gets
        stop_when_solved: true
        settings: {}                    # applied to every arm; same keys as config.yaml
        arms:
          - name: A2C
            algo: a2c
          - name: A3C
            algo: a3c
            settings: {update: hogwild}
        """;

    static FormatException Refused(string yaml) => Assert.Throws<FormatException>(() => ExperimentSpec.Parse(yaml, "e.yaml"));

    [Fact]
    public void TheDocumentedShapeParses()
    {
        ExperimentSpec spec = ExperimentSpec.Parse(DocumentedShape, "e.yaml");
        Assert.Equal("cartpole-a2c-vs-a3c", spec.Name);
        Assert.Equal(["CartPole-v1"], spec.Envs);
        Assert.Equal(10, spec.Seeds.Count);
        Assert.Equal(500_000, spec.MaxEnvSteps["CartPole-v1"]);
        Assert.True(spec.StopWhenSolved);
        Assert.Equal(["A2C", "A3C"], spec.Arms.Select(a => a.Name));
        var a3c = (A3cConfig)spec.Config("CartPole-v1", spec.Arms[1], 3, null);
        Assert.Equal(3, a3c.Seed);
        Assert.Equal(500_000, a3c.MaxEnvSteps);
        Assert.True(a3c.StopWhenSolved);
        Assert.Equal(spec.CoresPerRun, a3c.Threads);
        Assert.Equal(Environment.ProcessorCount, spec.CoresPerRun);
    }

    [Fact]
    public void OptionalFieldsAndPerEnvBudgetsAreRead()
    {
        ExperimentSpec spec = ExperimentSpec.Parse("""
            name: x
            envs: [CartPole-v1, Acrobot-v1]
            seeds: [1, 2]
            max_env_steps: {CartPole-v1: 1000, Acrobot-v1: 2000}
            threshold: {Acrobot-v1: -150}
            cores: 1
            wall_seconds: 30
            arms: [{name: a, algo: a2c, settings: {num_envs: 4}}]
            tune: {learning_rate: [0.001, 0.003], seeds: [101, 102]}
            """, "e.yaml");
        Assert.Equal(2000, spec.MaxEnvSteps["Acrobot-v1"]);
        var config = (A2cConfig)spec.Config("Acrobot-v1", spec.Arms[0], 1, 0.003f);
        Assert.Equal(-150, config.Threshold);
        Assert.Equal(475, spec.Config("CartPole-v1", spec.Arms[0], 1, null).Threshold);
        Assert.Equal(1, config.Threads);
        Assert.Equal(30, config.MaxWallSeconds);
        Assert.Equal(4, config.Lanes.NumEnvs);
        Assert.Equal(0.003f, config.LearningRate);
        Assert.Equal([0.001f, 0.003f], spec.Tune!.LearningRates);
    }

    [Fact]
    public void AnUnknownKeyIsRefusedWithItsLine()
    {
        FormatException e = Refused(DocumentedShape.Replace("stop_when_solved: true", "stop_when_solved: true\nmax_steps: 5"));
        Assert.Equal("e.yaml line 6: 'max_steps' is not a field of an experiment; expected one of name, envs, seeds, max_env_steps, " +
            "stop_when_solved, settings, arms, threshold, cores, wall_seconds, tune.", e.Message);
        e = Refused(DocumentedShape.Replace("    algo: a2c", "    algo: a2c\n    lr: 3"));
        Assert.Equal("e.yaml line 10: 'lr' is not a field of an arm; expected one of name, algo, settings, env_settings, cluster_actors.", e.Message);
    }

    [Fact]
    public void AClusterArmIsReadAndItsProcessesAreADifferenceTheReportShows()
    {
        ExperimentSpec spec = ExperimentSpec.Parse("""
            name: x
            envs: [CartPole-v1]
            seeds: [1]
            max_env_steps: 100000
            arms:
              - {name: one, algo: impala}
              - {name: two, algo: impala, cluster_actors: 2}
            """, "e.yaml");
        Assert.Equal([0, 2], spec.Arms.Select(a => a.ClusterActors));
        (string key, string[] values) = Assert.Single(Report.Differences(spec, "CartPole-v1", new Dictionary<(string, string), float>()));
        Assert.Equal("processes", key);
        Assert.Equal(["one process", "cluster: learner + 2 actor processes"], values);
    }

    [Theory]
    [InlineData("{name: c, algo: a3c, cluster_actors: 2}", "e.yaml line 6: cluster_actors runs impala, apex or d4pg across processes; this arm's algo is a3c.")]
    [InlineData("{name: c, algo: impala, cluster_actors: 0}", "e.yaml line 6: cluster_actors was 0; expected >= 1")]
    public void AClusterArmOfAnotherAlgorithmOrNoActorsIsRefused(string arm, string expected)
    {
        FormatException e = Refused($"name: x\nenvs: [CartPole-v1]\nseeds: [1]\nmax_env_steps: 1000\narms:\n  - {arm}\n");
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void ARunnerThatCannotStartAClusterRefusesAClusterArmBeforeAnyRun()
    {
        ExperimentSpec spec = ExperimentSpec.Parse("name: x\nenvs: [CartPole-v1]\nseeds: [1]\nmax_env_steps: 1000\narms: [{name: c, algo: impala, cluster_actors: 1}]\n", "e.yaml");
        string folder = Path.Combine(Path.GetTempPath(), $"hybrid-cluster-arm-{Guid.NewGuid():N}");
        var e = Assert.Throws<ArgumentException>(() => new ExperimentRunner(spec, folder, new RecordingProgress()).Run());
        Assert.Contains("arm 'c' runs across processes", e.Message);
        Assert.False(Directory.Exists(folder));
    }

    [Fact]
    public void AnUnknownAlgoIsRefusedWithItsLine()
    {
        FormatException e = Refused(DocumentedShape.Replace("algo: a3c", "algo: a4c"));
        Assert.Equal("e.yaml line 11: algo 'a4c' is unknown; expected one of a2c, a3c, q1, sarsa1, qn, dqn, dyna-q, apex, ddpg, d4pg, impala, ga3c, hybrid.", e.Message);
    }

    [Fact]
    public void OverlappingTuneAndReportSeedsAreRefused()
    {
        FormatException e = Refused(DocumentedShape + "\ntune: {learning_rate: [0.001], seeds: [10, 11, 3]}\n");
        Assert.Equal("e.yaml line 13: tune seeds 10, 3 are also report seeds; tuning seeds must differ from the seeds reported.", e.Message);
    }

    [Fact]
    public void ASettingTheArmsAlgorithmLacksIsRefused()
    {
        FormatException e = Refused(DocumentedShape.Replace("settings: {}", "settings: {update: lock}"));
        Assert.Contains("arm 'A2C' on CartPole-v1", e.Message);
        Assert.Contains("'update' is not a setting of a2c", e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    /// <summary>(text of the documented shape, what replaces it, what the message must say).</summary>
    public static TheoryData<string, string, string> BadEdits => new()
    {
        { "envs: [CartPole-v1]", "envs: [CartPole-v9]", "'CartPole-v9'" },
        { "seeds: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]", "seeds: []", "seeds is empty" },
        { "seeds: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]", "seeds: [1, 1]", "seeds repeats a seed" },
        { "max_env_steps: 500000 ", "max_env_steps: lots ", "max_env_steps 'lots' is not a whole number" },
        { "max_env_steps: 500000 ", "max_env_steps: {Acrobot-v1: 5} ", "names env 'Acrobot-v1', which is not in envs" },
        { "stop_when_solved: true", "stop_when_solved: maybe", "stop_when_solved 'maybe' is not true or false" },
        { "name: cartpole-a2c-vs-a3c", "title: x", "'title' is not a field" },
        { "settings: {}", "settings: {seed: 4}", "seed is fixed by the experiment for every arm alike" },
        { "  - name: A3C", "  - name: A2C", "two arms share a name" },
        { "settings: {}", "settings: {t_max: 0}", "t_max was 0; expected >= 1" },
    };

    [Theory]
    [MemberData(nameof(BadEdits))]
    public void BadValuesAreRefusedInOneLine(string from, string to, string expected)
    {
        Assert.Contains(from, DocumentedShape);
        FormatException e = Refused(DocumentedShape.Replace(from, to));
        Assert.Contains(expected, e.Message);
        Assert.StartsWith("e.yaml", e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void MissingFieldsAndMissingFilesAreNamed()
    {
        Assert.Equal("e.yaml line 1: 'arms' is missing; it is required.", Refused("name: x\nenvs: [CartPole-v1]\nseeds: [1]\nmax_env_steps: 5\n").Message);
        var e = Assert.Throws<FormatException>(() => ExperimentSpec.Load("/nonexistent/e.yaml"));
        Assert.Equal("experiment file '/nonexistent/e.yaml' does not exist.", e.Message);
    }

    [Fact]
    public void AnArmsEnvSettingsApplyOnThatEnvOnly()
    {
        ExperimentSpec spec = ExperimentSpec.Parse(DocumentedShape.Replace("envs: [CartPole-v1]", "envs: [CartPole-v1, Acrobot-v1]")
            .Replace("settings: {update: hogwild}", "settings: {update: hogwild, learning_rate: 0.003}\n    env_settings: {Acrobot-v1: {learning_rate: 0.005}}"), "e.yaml");
        Assert.Equal(0.003f, spec.Config("CartPole-v1", spec.Arms[1], 1, null).LearningRate);
        Assert.Equal(0.005f, spec.Config("Acrobot-v1", spec.Arms[1], 1, null).LearningRate);
        // threads set for one env only is the file's choice too, not overridden by the cores.
        ExperimentSpec threads = ExperimentSpec.Parse(DocumentedShape.Replace("settings: {update: hogwild}",
            "settings: {update: hogwild}\n    env_settings: {CartPole-v1: {threads: 1}}").Replace("stop_when_solved: true", "stop_when_solved: true\ncores: 2"), "e.yaml");
        Assert.Equal(1, threads.Config("CartPole-v1", threads.Arms[1], 1, null).Threads);
        Assert.Equal(2, threads.Config("CartPole-v1", threads.Arms[0], 1, null).Threads);
        FormatException e = Refused(DocumentedShape.Replace("settings: {update: hogwild}", "settings: {update: hogwild}\n    env_settings: {Pendulum-v1: {t_max: 3}}"));
        Assert.Equal("e.yaml line 13: env_settings names env 'Pendulum-v1', which is not in envs (CartPole-v1).", e.Message);
    }

    [Fact]
    public void HelperThreadsCountAgainstTheCoresAsInSpeedup()
    {
        // cores: 2. A2C and hogwild A3C have no helper: 2 threads. A3C's server applier, IMPALA's and the hybrid
        // regime's learner take one core: 1 worker. GA3C's predictor and learner take two: 1 actor, 3 threads in all.
        ExperimentSpec spec = ExperimentSpec.Parse("""
            name: cores
            envs: [CartPole-v1]
            seeds: [1]
            max_env_steps: 1000
            cores: 2
            arms:
              - {name: A2C, algo: a2c}
              - {name: hogwild, algo: a3c, settings: {update: hogwild}}
              - {name: server, algo: a3c, settings: {update: server}}
              - {name: IMPALA, algo: impala}
              - {name: hybrid, algo: hybrid}
              - {name: GA3C, algo: ga3c}
              - {name: hybrid 3, algo: hybrid, settings: {threads: 3}}
            """, "e.yaml");
        int[] threads = spec.Arms.Select(a => spec.Config("CartPole-v1", a, 1, null).Threads).ToArray();
        int[] used = spec.Arms.Select(a => spec.ThreadsUsed("CartPole-v1", a)).ToArray();
        Assert.Equal([2, 2, 1, 1, 1, 1, 3], threads);
        Assert.Equal([2, 2, 2, 2, 2, 3, 4], used);
        int limit = Math.Min(2, Environment.ProcessorCount);
        Assert.Equal(limit, spec.CoreLimit);
        // Over the limit: GA3C (3) and the arm that sets 3 workers (4); on a 1-core machine every arm is.
        List<string> over = spec.Oversubscribing();
        Assert.Contains("arm 'GA3C' keeps 3 threads busy (1 + 2 helpers)", over);
        Assert.Contains("arm 'hybrid 3' keeps 4 threads busy (3 + 1 helper)", over);
        Assert.Equal(used.Count(u => u > limit), over.Count);
    }

    [Fact]
    public void StoppingWhenSolvedOnAnEnvWithoutAThresholdIsRefused()
    {
        FormatException e = Refused(DocumentedShape.Replace("envs: [CartPole-v1]", "envs: [MinAtar/Breakout-v0]"));
        Assert.Contains("MinAtar/Breakout-v0 has no solve threshold", e.Message);
    }

    [Fact]
    public void PresetsApplyUnderTheExperimentsAndTheArmsSettings()
    {
        // MinAtar has no threshold of its own: a file that stops when solved gives one.
        ExperimentSpec spec = ExperimentSpec.Parse(DocumentedShape.Replace("envs: [CartPole-v1]", "envs: [MinAtar/Breakout-v0]\nthreshold: 5")
            .Replace("settings: {update: hogwild}", "settings: {update: hogwild, entropy_coef: 0.02}"), "e.yaml");
        Assert.Equal("a2c MinAtar/*", Presets.Name("a2c", "MinAtar/Breakout-v0"));
        var a2c = (A2cConfig)spec.Config("MinAtar/Breakout-v0", spec.Arms[0], 1, null);
        Assert.Equal(0.002f, a2c.LearningRate);
        Assert.Equal(0.01f, a2c.EntropyCoef);
        var a3c = (A3cConfig)spec.Config("MinAtar/Breakout-v0", spec.Arms[1], 1, null);
        Assert.Equal(0.02f, a3c.EntropyCoef); // the arm's own setting wins over the preset
        Assert.Null(Presets.Name("a2c", "CartPole-v1"));
    }

    [Fact]
    public void EveryShippedExperimentFileIsValid()
    {
        string[] files = Directory.GetFiles(Path.GetDirectoryName(Envs.EnvTestSupport.ExperimentFile("presets.yaml"))!, "*.yaml")
            .Where(f => File.ReadAllText(f).Contains("\narms:")).ToArray();
        Assert.True(files.Length >= 4, string.Join(", ", files));
        foreach (string file in files)
        {
            ExperimentSpec spec = ExperimentSpec.Load(file);
            Assert.True(spec.Arms.Count >= 2, file);
        }
        Assert.Contains(files, f => f.EndsWith("a2c-vs-a3c-default.yaml", StringComparison.Ordinal));
    }
}
