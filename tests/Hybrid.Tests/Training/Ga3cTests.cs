using System.Diagnostics;
using Hybrid.Training.Algorithms;
using Hybrid.Training.Metrics;
using Hybrid.Training.Parallel;
using Hybrid.Training.Runs;
using static Hybrid.Tests.Training.TrainingTestSupport;

namespace Hybrid.Tests.Training;

/// <summary>A model that doubles its inputs and adds its version, and records the largest batch it was given.</summary>
internal sealed class DoublingModel : IBatchModel
{
    public int InputSize => 2;
    public int OutputSize => 2;
    public int LargestBatch;
    public long Version;

    public long Predict(ReadOnlySpan<float> inputs, int rows, Span<float> outputs)
    {
        LargestBatch = Math.Max(LargestBatch, rows);
        for (int i = 0; i < rows * 2; i++) outputs[i] = 2 * inputs[i] + Version;
        return Version;
    }
}

/// <summary>GA3C's predictor, its lag accounting, and GA3C end to end.</summary>
public class Ga3cTests
{
    [Fact]
    public void ALoneRequestWaitsMaxWaitForCompanyAndNoLonger()
    {
        // With no other client, the predictor waits the full max_wait for stragglers, then answers.
        const double MaxWaitUs = 5_000;
        var model = new DoublingModel();
        var predictor = new BatchedPredictor(model, clients: 4, maxBatch: 4, MaxWaitUs);
        var thread = new Thread(() => predictor.Run(() => false)) { IsBackground = true };
        thread.Start();
        var latencies = new List<double>();
        for (int i = 0; i < 20; i++)
        {
            long start = Stopwatch.GetTimestamp();
            Assert.True(predictor.Predict(1, [i, -i], out ReadOnlySpan<float> output, out _));
            latencies.Add(Stopwatch.GetElapsedTime(start).TotalMicroseconds);
            Assert.Equal([2f * i, -2f * i], output.ToArray());
        }
        predictor.Stop();
        Assert.Equal(1, model.LargestBatch);
        // At least max_wait (less the clock's grain), and not much more: a loaded CI machine may add scheduling delay.
        Assert.True(latencies.Min() >= MaxWaitUs * 0.95, $"fastest answer {latencies.Min():F0} us");
        Assert.True(latencies.Order().ElementAt(10) <= MaxWaitUs + 20_000, $"median answer {latencies.Order().ElementAt(10):F0} us");
        PredictorStats total = predictor.Total();
        Assert.Equal(20, total.Predictions);
        Assert.Equal(20, total.Batches);
        Assert.Equal(1, total.MaxBatch);
    }

    [Fact]
    public void UnderManyThreadsEveryRequestIsAnsweredOnceWithItsOwnAnswerInBatchesNoLargerThanMaxBatch()
    {
        const int Clients = 8, Requests = 3_000, MaxBatch = 3;
        var model = new DoublingModel { Version = 7 };
        var predictor = new BatchedPredictor(model, Clients, MaxBatch, maxWaitMicroseconds: 50);
        var server = new Thread(() => predictor.Run(() => false)) { IsBackground = true };
        server.Start();
        int wrong = 0;
        var clients = Enumerable.Range(0, Clients).Select(c => new Thread(() =>
        {
            for (int i = 0; i < Requests; i++)
            {
                float a = c * 10_000 + i, b = -a;
                if (!predictor.Predict(c, [a, b], out ReadOnlySpan<float> output, out long version) || output[0] != 2 * a + 7 || output[1] != 2 * b + 7 || version != 7)
                    Interlocked.Increment(ref wrong);
            }
        })).ToList();
        clients.ForEach(t => t.Start());
        clients.ForEach(t => t.Join());
        predictor.Stop();
        Assert.Equal(0, wrong);
        PredictorStats total = predictor.Total();
        Assert.Equal(Clients * Requests, total.Predictions);
        Assert.InRange(model.LargestBatch, 1, MaxBatch);
        Assert.InRange(total.MaxBatch, 1, MaxBatch);
        Assert.InRange(total.MeanBatch, 1, MaxBatch);
        Assert.True(total.P50Batch <= total.P90Batch && total.P90Batch <= total.MaxBatch);
    }

    [Fact]
    public void AStoppedPredictorReleasesItsClients()
    {
        var predictor = new BatchedPredictor(new DoublingModel(), 2, 2, 10);
        bool answered = true;
        var client = new Thread(() => answered = predictor.Predict(0, [1, 2], out _, out _));
        client.Start(); // nobody runs the predictor: the request waits until the stop
        Assert.True(SpinWait.SpinUntil(() => (client.ThreadState & System.Threading.ThreadState.WaitSleepJoin) != 0, 5_000), "the client never waited");
        predictor.Stop();
        Assert.True(client.Join(5_000));
        Assert.False(answered);
        Assert.False(predictor.Predict(1, [1, 2], out _, out _));
    }

    [Fact]
    public void TheLearnerLogsEachSegmentsLagAsItsVersionMinusTheSegmentsVersion()
    {
        // Four segments made by version 0 and learned two per update: lags 0, 0, then 1, 1; but the last segment's steps
        // were answered by versions averaging 0.4 (a predictor that moved on mid-segment): its mean lag is 0.6, its
        // largest 1. The run's policy lag is the mean of the segments' means, (0 + 0 + 1 + 0.6) / 4, and the max 1.
        var config = new Ga3cConfig { Threads = 1, TMax = 5, MaxEnvSteps = 1_000_000, LogInterval = 1_000_000 };
        var sink = new RecordingSink();
        var run = new RunContext(config, sink, null);
        using var learner = new LaggedLearner(config, run, "ga3c", "test learner",
            new Hybrid.Training.Devices.LearnerShape(5, 1, 2, 0.5f, 0.01f, 1f, 1f), 1, Hybrid.Training.Devices.CpuDevice.Instance);
        UnrollQueues queues = learner.Queues;
        var env = config.MakeEnv(1);
        env.Reset(1);
        Hybrid.Nn.Rng[] rngs = [new(1, 1)];
        for (int k = 0; k < 4; k++)
        {
            Assert.True(queues.Free.TryTake(out int slot, 0));
            Unroll u = queues.Slots[slot];
            u.Rollout.Clear();
            for (int t = 0; t < 5; t++) Acting.Step(learner.Parameters.Net, learner.Parameters.Theta, env, u.Rollout, 0.99f, rngs, recordLogProbabilities: true);
            env.Observations.CopyTo(u.NextObservations);
            u.Version = 0;
            u.MeanVersion = k == 3 ? 0.4 : 0;
            queues.Full.Add(slot);
        }
        var group = new WorkerGroup("test");
        var versions = new List<long>();
        learner.Learn(group, v =>
        {
            versions.Add(v);
            if (v == 2) group.Stop();
        });
        RunSummary summary = run.Finish(1, 1);
        Assert.Equal([1L, 2L], versions);
        Assert.Equal(0.4, summary.PolicyLagMean!.Value, 12);
        Assert.Equal(1L, summary.PolicyLagMax);
    }

    [Fact]
    public void Ga3cSolvesCartPoleOnTwoActorsWithItsTelemetry()
    {
        // Defaults (IMPALA's learning rate, unroll and budget) with two actors; seeds 1-5 solved at 136k-190k steps.
        (RunSummary summary, RecordingSink sink) = Train(new Ga3cConfig { Seed = 3, Threads = 2, StopWhenSolved = true, LogInterval = 20_000 });
        Assert.True(summary.Solved, $"mean return {summary.FinalMeanReturn:F1} after {summary.EnvSteps:N0} steps");
        RuntimeTelemetry runtime = summary.Runtime!.Value;
        Assert.InRange(runtime.PredictBatchMax, 1, 2);
        Assert.InRange(runtime.PredictBatchMean, 1, 2);
        Assert.True(runtime.PredictionsPerSecond > 0 && runtime.UpdatesPerSecond > 0);
        Assert.True(runtime.PredictWaitMicroseconds > 0);
        Assert.True(double.IsNaN(runtime.SyncStepsPerSecond));
        // Each segment is t_max predictions: predictions match env steps within the segments in flight.
        Assert.All(sink.Rows.ToArray(), r => Assert.NotNull(r.Runtime));
        Assert.NotNull(summary.PolicyLagMean);
        Assert.Contains("\"predict_batch_p90\"", summary.ToJson());
    }

    [Fact]
    public void DivergenceInGa3cStopsTheRunNamingTheLearner()
    {
        var e = Assert.Throws<WorkerFailedException>(() => Train(new Ga3cConfig { Threads = 2, LearningRate = 1e30f, MaxGradNorm = 0 }));
        Assert.Equal("ga3c learner", e.Worker);
        Assert.Contains("NaN or infinite", e.InnerException!.Message);
    }
}

/// <summary>A model that fails on its third batch.</summary>
internal sealed class FailingModel : IBatchModel
{
    int _batches;
    public int InputSize => 1;
    public int OutputSize => 1;

    public long Predict(ReadOnlySpan<float> inputs, int rows, Span<float> outputs)
    {
        if (++_batches == 3) throw new InvalidOperationException("the forward pass failed");
        outputs[..rows].Fill(1);
        return 0;
    }
}

public class PredictorFaultTests
{
    [Fact]
    public void AFailingPredictorStopsTheRunNamingItselfAndReleasesItsClients()
    {
        var group = new WorkerGroup("ga3c");
        var predictor = new BatchedPredictor(new FailingModel(), 2, 2, 10);
        group.Start("predictor", 0, _ => predictor.Run(() => group.StopRequested));
        int answered = 0, refused = 0;
        for (int c = 0; c < 2; c++)
            group.Start("actor", c, id =>
            {
                while (predictor.Predict(id, [1f], out _, out _)) Interlocked.Increment(ref answered);
                Interlocked.Increment(ref refused);
            });
        var e = Assert.Throws<WorkerFailedException>(group.Join);
        Assert.Equal("ga3c predictor 0", e.Worker);
        Assert.Contains("the forward pass failed", e.Message);
        Assert.Equal(2, refused);
        // No more answers than the two good batches held (an answer racing the stop may be refused instead).
        Assert.InRange(answered, 0, 4);
    }
}
