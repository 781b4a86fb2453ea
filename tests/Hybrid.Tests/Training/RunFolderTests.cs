using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using Hybrid.Training.Algorithms;
using Hybrid.Training.Config;
using Hybrid.Training.Metrics;
using Hybrid.Training.Runs;

namespace Hybrid.Tests.Training;

public class RunFolderTests
{
    [Fact]
    public void TrainingWithAnotherConfigThanTheContextsIsRefused()
    {
        // The run's budget is its own config's: a warm-up run with a shorter budget but the full run's context would
        // silently train to the full budget.
        var full = new A2cConfig { MaxEnvSteps = 500_000 };
        A2cConfig warm = full with { MaxEnvSteps = 2_000 };
        var e = Assert.Throws<ArgumentException>(() => Trainer.Train(warm, new RunContext(full, null, null)));
        Assert.Contains("500,000", e.Message);
        foreach (AlgoConfig config in new AlgoConfig[] { new A3cConfig { MaxEnvSteps = 1_000 }, new ImpalaConfig { MaxEnvSteps = 1_000 } })
            Assert.Throws<ArgumentException>(() => Trainer.Train(config, new RunContext(config with { }, null, null)));
        Assert.Equal(2_000, Trainer.Train(warm, new RunContext(warm, null, null)).EnvSteps);
    }

    [Fact]
    public void AFolderWithAnythingInItOrAFileIsRefused()
    {
        string root = Directory.CreateTempSubdirectory("hybrid-folder").FullName;
        string other = Path.Combine(root, "notes");
        Directory.CreateDirectory(other);
        File.WriteAllText(Path.Combine(other, "todo.txt"), "mine");
        var e = Assert.Throws<ArgumentException>(() => new RunFolder(other, new A2cConfig()));
        Assert.Contains("not empty (it holds todo.txt)", e.Message);
        Assert.Equal("mine", File.ReadAllText(Path.Combine(other, "todo.txt")));
        e = Assert.Throws<ArgumentException>(() => new RunFolder(Path.Combine(other, "todo.txt"), new A2cConfig()));
        Assert.Contains("is a file", e.Message);
        string empty = Path.Combine(root, "empty");
        Directory.CreateDirectory(empty);
        using (new RunFolder(empty, new A2cConfig())) { }
        Assert.True(File.Exists(Path.Combine(empty, "config.yaml")));
    }

    [Fact]
    public void DefaultRunFoldersDoNotCollideWhenStartedTogether()
    {
        var config = new A2cConfig();
        var names = new HashSet<string>();
        System.Threading.Tasks.Parallel.For(0, 2000, _ =>
        {
            string name = Hybrid.Cli.Train.TrainCommand.DefaultFolder(config);
            lock (names) names.Add(name);
        });
        Assert.Equal(2000, names.Count);
        Assert.Matches($@"^runs[/\\]a2c-CartPole-v1-s1-\d{{8}}-\d{{6}}-\d{{3}}-{Environment.ProcessId}-\d+$", names.First());
    }

    [Fact]
    public void Crc32CMatchesItsCheckValue()
    {
        // The CRC-32C check value of "123456789" (RFC 3720, appendix B.4 and the CRC catalogue).
        Assert.Equal(0xE3069283u, TensorBoardWriter.Crc32C("123456789"u8));
        Assert.Equal(0u, TensorBoardWriter.Crc32C([]));
    }

    /// <summary>An independent TFRecord and protobuf reader: checks both CRCs of every record and decodes scalar summaries.</summary>
    internal static List<(long Step, string? Version, List<(string Tag, float Value)> Values)> ReadEvents(string path)
    {
        byte[] file = File.ReadAllBytes(path);
        var events = new List<(long, string?, List<(string, float)>)>();
        int at = 0;
        while (at < file.Length)
        {
            ulong length = BinaryPrimitives.ReadUInt64LittleEndian(file.AsSpan(at));
            Assert.Equal(TensorBoardWriter.MaskedCrc32C(file.AsSpan(at, 8)), BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(at + 8)));
            ReadOnlySpan<byte> data = file.AsSpan(at + 12, (int)length);
            Assert.Equal(TensorBoardWriter.MaskedCrc32C(data), BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(at + 12 + (int)length)));
            at += 16 + (int)length;
            long step = 0;
            string? version = null;
            var values = new List<(string, float)>();
            int p = 0;
            while (p < data.Length)
            {
                int key = data[p++];
                switch (key)
                {
                    case 0x09: p += 8; break; // wall_time
                    case 0x10: step = (long)Varint(data, ref p); break;
                    case 0x1A: version = Encoding.UTF8.GetString(Bytes(data, ref p)); break;
                    case 0x2A:
                        ReadOnlySpan<byte> summary = Bytes(data, ref p);
                        int q = 0;
                        while (q < summary.Length)
                        {
                            Assert.Equal(0x0A, summary[q++]);
                            ReadOnlySpan<byte> value = Bytes(summary, ref q);
                            int r = 0;
                            Assert.Equal(0x0A, value[r++]);
                            string tag = Encoding.UTF8.GetString(Bytes(value, ref r));
                            Assert.Equal(0x15, value[r++]);
                            values.Add((tag, BinaryPrimitives.ReadSingleLittleEndian(value[r..])));
                        }
                        break;
                    default: throw new InvalidDataException($"unexpected field key {key:X2}");
                }
            }
            events.Add((step, version, values));
        }
        return events;
    }

    static ulong Varint(ReadOnlySpan<byte> data, ref int p)
    {
        ulong v = 0;
        for (int shift = 0; ; shift += 7)
        {
            byte b = data[p++];
            v |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80) return v;
        }
    }

    static ReadOnlySpan<byte> Bytes(ReadOnlySpan<byte> data, ref int p)
    {
        int n = (int)Varint(data, ref p);
        ReadOnlySpan<byte> bytes = data.Slice(p, n);
        p += n;
        return bytes;
    }

    [Fact]
    public void EventFileHoldsAVersionRecordThenTheScalars()
    {
        string dir = Directory.CreateTempSubdirectory("hybrid-tb").FullName;
        string path;
        using (var writer = new TensorBoardWriter(dir))
        {
            path = writer.Path;
            writer.WriteScalars(1000, [("charts/sps", 12345.5), ("losses/policy", -0.25), ("runtime/policy_lag", double.NaN)]);
            writer.WriteScalars(300_000, [("charts/episodic_return", 500)]);
        }
        Assert.StartsWith("events.out.tfevents.", Path.GetFileName(path));
        var events = ReadEvents(path);
        Assert.Equal(3, events.Count);
        Assert.Equal("brain.Event:2", events[0].Version);
        Assert.Equal(1000, events[1].Step);
        Assert.Equal([("charts/sps", 12345.5f), ("losses/policy", -0.25f)], events[1].Values);
        Assert.Equal(300_000, events[2].Step);
        Assert.Equal([("charts/episodic_return", 500f)], events[2].Values);
    }

    [Fact]
    public void SummaryJsonHasTheDesignFieldsInOrderThenThePolicyLag()
    {
        var summary = new RunSummary("a2c", "CartPole-v1", 1, "cpu", 2, 16, 250000, 3125, 1.9, 131000, 475, true, "train-last-100",
            180000, 1.4, 487.2, 2210);
        using JsonDocument doc = JsonDocument.Parse(summary.ToJson());
        string[] expected = ["algo", "env", "seed", "device", "threads", "num_envs", "env_steps", "updates", "wall_seconds",
            "steps_per_second", "solve_threshold", "solved", "solve_criterion", "solved_at_env_steps", "solved_at_seconds",
            "final_mean_return", "episodes", "policy_lag_mean", "policy_lag_max", "status"];
        Assert.Equal(expected, doc.RootElement.EnumerateObject().Select(p => p.Name));
        Assert.Equal(180000, doc.RootElement.GetProperty("solved_at_env_steps").GetInt64());
        Assert.Equal(487.2, doc.RootElement.GetProperty("final_mean_return").GetDouble());

        using JsonDocument unsolved = JsonDocument.Parse((summary with { Solved = false, SolvedAtEnvSteps = null, SolvedAtSeconds = null }).ToJson());
        Assert.Equal(JsonValueKind.Null, unsolved.RootElement.GetProperty("solved_at_env_steps").ValueKind);
        Assert.Equal(JsonValueKind.False, unsolved.RootElement.GetProperty("solved").ValueKind);
    }

    [Fact]
    public void AnExistingRunIsNeverOverwritten()
    {
        string dir = Directory.CreateTempSubdirectory("hybrid-run").FullName;
        using (new RunFolder(dir, new A2cConfig())) { }
        var e = Assert.Throws<ArgumentException>(() => new RunFolder(dir, new A2cConfig()));
        Assert.Contains("already holds a run", e.Message);
    }
}
