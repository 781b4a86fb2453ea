using Hybrid.Training.Algorithms;
using Hybrid.Training.Config;
using Hybrid.Training.Devices;

namespace Hybrid.Tests.Training;

public class ConfigTests
{
    [Fact]
    public void KeysAreSnakeCaseWithKebabOptionsSharedOnesFirst()
    {
        IReadOnlyList<ConfigKey> keys = ConfigBinder.Keys(typeof(A2cConfig));
        Assert.Equal("env", keys[0].Key);
        Assert.Contains(keys, k => k.Key == "max_env_steps" && k.Option == "--max-env-steps");
        Assert.Contains(keys, k => k.Key == "t_max" && k.Option == "--t-max");
        Assert.True(keys.ToList().FindIndex(k => k.Key == "learning_rate") < keys.ToList().FindIndex(k => k.Key == "num_envs"));
        Assert.All(keys, k => Assert.False(string.IsNullOrWhiteSpace(k.Description)));
    }

    [Fact]
    public void EverySettingIsDeclaredOnceWhicheverAlgorithmsHaveIt()
    {
        // A key the algorithms share comes from one property: the shared base record's, or the part that holds it
        // (num_envs, gae_lambda, update, device), never a second declaration with its own default and checks.
        var declared = new Dictionary<string, System.Reflection.PropertyInfo>();
        foreach (string algo in Trainer.Algorithms)
            foreach (ConfigKey key in ConfigBinder.Keys(Trainer.DefaultConfig(algo).GetType()))
            {
                var declaring = key.Property.DeclaringType!.GetProperty(key.Property.Name)!;
                if (declared.TryGetValue(key.Key, out var first)) Assert.True(first == declaring, $"{key.Key}: {first.DeclaringType!.Name} and {declaring.DeclaringType!.Name}");
                else declared[key.Key] = declaring;
            }
        Assert.Contains("num_envs", declared.Keys);
        Assert.Equal(typeof(LaneSettings), declared["num_envs"].DeclaringType);
        Assert.Equal(typeof(AlgoConfig), declared["t_max"].DeclaringType);
    }

    [Fact]
    public void SettingAPartsKeyChangesTheCopyOnly()
    {
        // A config copied with 'with' shares its parts; a setting applied to the copy must not reach the original.
        var original = new ImpalaConfig();
        ImpalaConfig copy = ConfigBinder.Apply(original, [("num_envs", "16", "test"), ("device", "cpu", "test")]);
        Assert.Equal((16, Hybrid.Training.Devices.DeviceKind.Cpu), (copy.Lanes.NumEnvs, copy.Compute.Device));
        Assert.Equal((4, Hybrid.Training.Devices.DeviceKind.Auto), (original.Lanes.NumEnvs, original.Compute.Device));
        Assert.Equal(8, new A2cConfig().Lanes.NumEnvs);
    }

    [Fact]
    public void YamlRoundTripsEveryValue()
    {
        var config = new A2cConfig { Env = "Pendulum-v1", Seed = 7, Hidden = [32, 16], LearningRate = 3.3e-4f, StopWhenSolved = true, TMax = 9 };
        string yaml = ConfigBinder.ToYaml(config);
        var settings = ConfigBinder.ParseYaml(yaml, "config.yaml").Where(s => s.Key != "algo").ToList();
        A2cConfig back = ConfigBinder.Apply(new A2cConfig(), settings);
        Assert.Equal(yaml, ConfigBinder.ToYaml(back));
        Assert.Equal(3.3e-4f, back.LearningRate);
        Assert.Equal([32, 16], back.Hidden);
        Assert.True(back.StopWhenSolved);
    }

    [Fact]
    public void YamlCommentsAndQuotesAreHandledAndBadLinesNamed()
    {
        var settings = ConfigBinder.ParseYaml("# a comment\nenv: \"Acrobot-v1\"  # trailing\n\nseed: 3\n", "f.yaml");
        Assert.Equal([("env", "Acrobot-v1", "f.yaml line 2"), ("seed", "3", "f.yaml line 4")], settings);
        var e = Assert.Throws<FormatException>(() => ConfigBinder.ParseYaml("seed: 1\nnot a setting\n", "f.yaml"));
        Assert.Contains("f.yaml line 2", e.Message);
        e = Assert.Throws<FormatException>(() => ConfigBinder.ParseYaml("seed: 1\nseed: 2\n", "f.yaml"));
        Assert.Contains("f.yaml line 2: the key 'seed' appears twice", e.Message);
        // A tab is named on its own line, not on the line of the value before it.
        e = Assert.Throws<FormatException>(() => ConfigBinder.ParseYaml("seed: 1\nenv: CartPole-v1\n\tnum_envs: 8\n", "f.yaml"));
        Assert.Equal("f.yaml line 3: a tab indents this line; YAML indents with spaces.", e.Message);
    }

    [Fact]
    public void YamlListsAreReadAsCommaSeparatedAndNestedValuesRefusedWithTheirLine()
    {
        var settings = ConfigBinder.ParseYaml("seed: 2\nhidden: [32, 16]\n", "f.yaml");
        Assert.Equal(("hidden", "32,16", "f.yaml line 2"), settings[1]);
        Assert.Equal([32, 16], ConfigBinder.Apply(new A2cConfig(), settings).Hidden);
        var e = Assert.Throws<FormatException>(() => ConfigBinder.ParseYaml("seed: 1\nhidden:\n  a: 1\n", "f.yaml"));
        Assert.Equal("f.yaml line 3: hidden takes a single value or a list, not a mapping.", e.Message);
        e = Assert.Throws<FormatException>(() => ConfigBinder.ParseYaml("seed: [1\n", "f.yaml"));
        Assert.StartsWith("f.yaml line ", e.Message);
        e = Assert.Throws<FormatException>(() => ConfigBinder.ParseYaml("- 1\n- 2\n", "f.yaml"));
        Assert.Equal("f.yaml line 1: expected 'key: value' lines at the top level.", e.Message);
        Assert.Empty(ConfigBinder.ParseYaml("# nothing but a comment\n", "f.yaml"));
    }

    [Fact]
    public void UnknownKeysAndBadValuesAreRefusedByName()
    {
        var e = Assert.Throws<ArgumentException>(() => ConfigBinder.Apply(new A2cConfig(), [("epsilon_final", "0.1", "--epsilon-final")]));
        Assert.Contains("'epsilon_final' is not a setting of a2c", e.Message);
        e = Assert.Throws<ArgumentException>(() => ConfigBinder.Apply(new A2cConfig(), [("t_max", "five", "--t-max")]));
        Assert.Contains("t_max 'five' is not valid", e.Message);
        Assert.Contains("--t-max", e.Message);
    }

    [Theory]
    [InlineData("threads", "0", "threads was 0; expected >= 1")]
    [InlineData("learning_rate", "0", "learning_rate was 0; expected > 0")]
    [InlineData("learning_rate", "-1", "learning_rate was -1; expected > 0")]
    [InlineData("t_max", "0", "t_max was 0; expected >= 1")]
    [InlineData("num_envs", "0", "num_envs was 0; expected >= 1")]
    [InlineData("gamma", "1.5", "gamma was 1.5; expected in [0, 1]")]
    [InlineData("env", "cartpole-v1", "'cartpole-v1'")]
    public void ValidateNamesTheFieldAndValue(string key, string value, string expected)
    {
        A2cConfig config = ConfigBinder.Apply(new A2cConfig(), [(key, value, "test")]);
        var e = Assert.Throws<ArgumentException>(config.Validate);
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void UnknownAlgorithmIsRefusedWithTheList()
    {
        var e = Assert.Throws<ArgumentException>(() => Trainer.DefaultConfig("ppo"));
        Assert.Contains("algo 'ppo' is unknown", e.Message);
        Assert.Contains("a2c", e.Message);
    }
}

/// <summary>The algorithm registry: one row per algorithm, which the CLI, compare and speedup find algorithms through.</summary>
public class AlgorithmRegistryTests
{
    [Fact]
    public void EveryRowNamesItsOwnConfigAndTheNamesAreTheCommandLines()
    {
        Assert.Equal(["a2c", "a3c", "q1", "sarsa1", "qn", "dqn", "dyna-q", "apex", "ddpg", "d4pg", "impala", "ga3c", "hybrid"], Trainer.Algorithms);
        foreach (Algorithm algorithm in Trainer.Registry)
        {
            AlgoConfig config = Trainer.DefaultConfig(algorithm.Name);
            Assert.Equal(algorithm.Name, config.Algo);
            Assert.IsType(algorithm.ConfigType, config);
        }
        var e = Assert.Throws<ArgumentException>(() => Trainer.DefaultConfig("a4c"));
        Assert.StartsWith("algo 'a4c' is unknown; expected one of a2c, a3c", e.Message);
    }
}
