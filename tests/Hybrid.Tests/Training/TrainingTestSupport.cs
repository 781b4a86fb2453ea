using Hybrid.Training.Algorithms;
using Hybrid.Training.Config;
using Hybrid.Training.Metrics;
using Hybrid.Training.Runs;

namespace Hybrid.Tests.Training;

/// <summary>Keeps every row and summary in memory, and the thread's allocated bytes at each row (preallocated: writing a row allocates nothing).</summary>
internal sealed class RecordingSink : IMetricsSink
{
    readonly MetricsRow[] _rows = new MetricsRow[4096];
    readonly long[] _allocated = new long[4096];

    public int Count { get; private set; }
    public RunSummary? Summary { get; private set; }
    public ReadOnlySpan<MetricsRow> Rows => _rows.AsSpan(0, Count);
    public ReadOnlySpan<long> AllocatedBytes => _allocated.AsSpan(0, Count);

    public void Write(in MetricsRow row)
    {
        _allocated[Count] = GC.GetAllocatedBytesForCurrentThread();
        _rows[Count++] = row;
    }

    public void Complete(RunSummary summary) => Summary = summary;

    /// <summary>
    /// Asserts the writing thread allocated nothing between consecutive rows after the first (at least four such
    /// windows): code that allocates does so in every window, while the runtime's own one-off work (a method tiering up
    /// late on a loaded machine: 2,920 bytes once in a full suite) lands in one at most, and is small.
    /// </summary>
    public void AssertAllocatesNothingAfterTheFirstRow()
    {
        long[] windows = [.. _allocated.AsSpan(1, Count - 1).ToArray().Zip(_allocated.AsSpan(2, Count - 2).ToArray(), (a, b) => b - a)];
        Assert.True(windows.Length >= 4, $"{windows.Length} windows");
        Assert.True(windows.Count(w => w != 0) <= 1 && windows.Max() < 16 * 1024, $"bytes per window: {string.Join(", ", windows)}");
    }
}

internal static class TrainingTestSupport
{
    public static (RunSummary Summary, RecordingSink Sink) Train(AlgoConfig config)
    {
        var sink = new RecordingSink();
        RunSummary summary = Trainer.Train(config, new RunContext(config, sink, null));
        return (summary, sink);
    }

    /// <summary>
    /// The config <c>train --algo ALGO --config experiments/NAME</c> runs: <paramref name="defaults"/>' algorithm's
    /// defaults, Hybrid's preset for the file's env, then the file's settings (its algo key aside).
    /// </summary>
    public static T Preset<T>(T defaults, string name) where T : AlgoConfig
    {
        string file = Envs.EnvTestSupport.ExperimentFile(name);
        var settings = ConfigBinder.ParseYaml(File.ReadAllText(file), file).Where(s => s.Key != "algo").ToList();
        return (T)Hybrid.Training.Config.Presets.Resolve(defaults.Algo, settings, usePreset: true, out _);
    }

    /// <summary>Asserts that two runs of one config gave the same rows (but for wall-clock time) and the same final return.</summary>
    public static void AssertSameRuns(RunSummary first, RecordingSink a, RunSummary second, RecordingSink b)
    {
        Assert.Equal(a.Count, b.Count);
        for (int i = 0; i < a.Count; i++) Assert.Equal(WithoutTime(a.Rows[i]), WithoutTime(b.Rows[i]));
        Assert.Equal(first.FinalMeanReturn, second.FinalMeanReturn);
        Assert.Equal(first.Episodes, second.Episodes);
    }

    /// <summary>A row without its wall-clock columns, which are the only ones allowed to differ between identical runs.</summary>
    public static MetricsRow WithoutTime(MetricsRow row) => row with { WallSeconds = 0, StepsPerSecond = 0 };
}
