using System.Diagnostics;
using Hybrid.Training.Metrics;

namespace Hybrid.Tests.Training;

/// <summary>The load a run records: another process's busy core counts as busy outside Hybrid; this process's CPU time counts as its own.</summary>
public class MachineLoadTests
{
    [Fact]
    public void AnotherProcessSpinningACoreIsSeenAsBusyOutsideHybrid()
    {
        if (!OperatingSystem.IsLinux()) return; // /proc/stat is Linux's
        // The spinner's errors go nowhere: killed mid-loop, its date would report a broken pipe into the test log.
        using var spinner = Process.Start(new ProcessStartInfo("sh", ["-c", "exec 2> /dev/null; end=$(( $(date +%s) + 4 )); while [ $(date +%s) -lt $end ]; do :; done"]) { UseShellExecute = false })!;
        try
        {
            var sampler = new LoadSampler();
            var clock = Stopwatch.StartNew();
            while (clock.Elapsed.TotalSeconds < 2.2)
            {
                Thread.Sleep(100);
                sampler.Sample();
            }
            MachineLoad load = sampler.Finish(threadsUsed: Environment.ProcessorCount);
            Assert.True(load.Samples >= 2, $"{load.Samples} samples");
            // A shell loop keeps one core busy (it forks date, which is counted too): on a machine shared with other
            // tests it still gets well over a third of a core; nothing here spins, so none of it is this process's.
            Assert.True(load.OtherBusyCoresMean > 0.35, $"{load}");
            Assert.True(load.OtherBusyCoresMax >= load.OtherBusyCoresMean, $"{load}");
            Assert.True(load.Busy, $"every core asked for and one taken by another process: {load}");
        }
        finally
        {
            if (!spinner.HasExited) spinner.Kill();
        }
    }

    [Fact]
    public void ThisProcesssCpuTimeGrowsWhileItSpins()
    {
        double before = LoadSampler.ProcessCpuSeconds();
        var clock = Stopwatch.StartNew();
        double x = 0;
        while (clock.Elapsed.TotalSeconds < 0.6) x += Math.Sqrt(clock.Elapsed.TotalSeconds);
        double spent = LoadSampler.ProcessCpuSeconds() - before;
        Assert.True(x > 0);
        // 0.6 s of spinning on one thread; the system's tick is 10 ms, and a busy machine may take some of the time.
        Assert.True(spent >= 0.2, $"{spent} CPU s");
    }

    [Fact]
    public void TheLoadGoesIntoSummaryJsonAndBackOut()
    {
        var summary = new RunSummary("a2c", "CartPole-v1", 1, "cpu", 2, 8, 1000, 10, 2.0, 500, 475, true, "train-last-100", 900, 1.5, 480, 20)
        {
            CpuSeconds = 3.25,
            SolvedAtCpuSeconds = 2.5,
            Load = new MachineLoad(2, 2, 1.5, 2.5, 3.0, 1.25, 1.9, 7),
        };
        RunSummary back = RunSummary.ParseFinished(summary.ToJson())!;
        Assert.Equal(3.25, back.CpuSeconds);
        Assert.Equal(2.5, back.SolvedAtCpuSeconds);
        Assert.Equal(summary.Load with { Recorded = true }, back.Load);
        Assert.True(back.Load!.Busy);
        Assert.Contains("\"busy\": true", summary.ToJson());
    }
}
