using Hybrid.Nn;
using Hybrid.Nn.Models;
using Hybrid.Nn.Optim;

namespace Hybrid.Tests.Nn;

public sealed class CheckpointTests : IDisposable
{
    readonly string _directory = Path.Combine(Path.GetTempPath(), "hybrid-ckpt-" + Guid.NewGuid().ToString("N"));

    public CheckpointTests() => Directory.CreateDirectory(_directory);

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    CheckpointData Sample()
    {
        Network network = ModelSpec.CartPoleActorCritic.Build();
        var theta = new float[network.ParameterCount];
        network.Initialize(theta, new Rng(9));
        var rms = new RmsProp(theta.Length);
        rms.Step(theta, GradientCheck.Random(new Rng(10), theta.Length), 0.01f);
        theta[0] = float.NaN; // bit patterns, not values, must survive
        theta[1] = -0f;
        return new CheckpointData
        {
            Model = network.Spec,
            Parameters = theta,
            OptimizerState = rms.State.Select(s => new CheckpointArray(s.Name, s.Values)).ToArray(),
            EnvSteps = 123_456_789_012,
            Updates = 42,
            Config = "algo: a2c\nenv: CartPole-v1\n",
        };
    }

    [Fact]
    public void RoundTripIsBitExact()
    {
        string path = Path.Combine(_directory, "model.ckpt");
        CheckpointData saved = Sample();
        Checkpoint.Save(path, saved);
        CheckpointData loaded = Checkpoint.Load(path, ModelSpec.CartPoleActorCritic);
        Assert.Equal(Bits(saved.Parameters), Bits(loaded.Parameters));
        Assert.Single(loaded.OptimizerState);
        Assert.Equal("rmsprop.g", loaded.OptimizerState[0].Name);
        Assert.Equal(Bits(saved.OptimizerState[0].Values), Bits(loaded.OptimizerState[0].Values));
        Assert.Equal(saved.EnvSteps, loaded.EnvSteps);
        Assert.Equal(saved.Updates, loaded.Updates);
        Assert.Equal(saved.Config, loaded.Config);
        Assert.Equal(saved.Model, loaded.Model);
        Assert.Equal(new[] { "model.ckpt" }, Directory.GetFiles(_directory).Select(f => Path.GetFileName(f)!).ToArray()); // no temp file left
    }

    static int[] Bits(float[] values) => values.Select(BitConverter.SingleToInt32Bits).ToArray();

    [Fact]
    public void TruncatedFileIsRejectedAsTruncated()
    {
        string path = Path.Combine(_directory, "t.ckpt");
        Checkpoint.Save(path, Sample());
        byte[] bytes = File.ReadAllBytes(path);
        foreach (int keep in new[] { bytes.Length - 1, bytes.Length / 2, 40, 12 })
        {
            File.WriteAllBytes(path, bytes.AsSpan(0, keep).ToArray());
            var ex = Assert.Throws<InvalidDataException>(() => Checkpoint.Load(path));
            Assert.Contains("truncated", ex.Message);
        }
    }

    [Fact]
    public void CorruptedByteIsRejectedByChecksum()
    {
        string path = Path.Combine(_directory, "c.ckpt");
        Checkpoint.Save(path, Sample());
        byte[] bytes = File.ReadAllBytes(path);
        bytes[bytes.Length - 100] ^= 0x10; // inside the optimizer state
        File.WriteAllBytes(path, bytes);
        var ex = Assert.Throws<InvalidDataException>(() => Checkpoint.Load(path));
        Assert.Contains("corrupted", ex.Message);
        Assert.Contains("checksum", ex.Message);
    }

    [Fact]
    public void WrongModelIsRejectedWithBothSpecs()
    {
        string path = Path.Combine(_directory, "m.ckpt");
        Checkpoint.Save(path, Sample());
        var other = ModelSpec.CartPoleActorCritic with { Hidden = [32, 32] };
        var ex = Assert.Throws<InvalidDataException>(() => Checkpoint.Load(path, other));
        Assert.Contains("different model", ex.Message);
        Assert.Contains("hidden=64,64", ex.Message);
        Assert.Contains("hidden=32,32", ex.Message);
    }

    [Fact]
    public void ForeignFileIsRejected()
    {
        string path = Path.Combine(_directory, "f.ckpt");
        File.WriteAllText(path, "not a checkpoint at all");
        var ex = Assert.Throws<InvalidDataException>(() => Checkpoint.Load(path));
        Assert.Contains("not a Hybrid checkpoint", ex.Message);
    }

    [Fact]
    public void FailedSaveLeavesThePreviousCheckpoint()
    {
        string path = Path.Combine(_directory, "keep.ckpt");
        CheckpointData good = Sample();
        Checkpoint.Save(path, good);
        byte[] before = File.ReadAllBytes(path);
        var bad = good with { OptimizerState = [new CheckpointArray("broken", new float[3])] };
        var ex = Assert.Throws<ArgumentException>(() => Checkpoint.Save(path, bad));
        Assert.Contains("broken", ex.Message);
        Assert.Equal(before, File.ReadAllBytes(path));
        Assert.Single(Directory.GetFiles(_directory));
    }

    [Fact]
    public void Crc32OfTheStandardCheckString()
    {
        // The CRC-32/ISO-HDLC check value for "123456789".
        Assert.Equal(0xCBF43926u, Crc32.Compute("123456789"u8));
    }
}
