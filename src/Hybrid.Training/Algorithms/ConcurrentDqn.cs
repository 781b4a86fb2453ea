using System.Numerics.Tensors;
using Hybrid.Training.Replay;
using Hybrid.Training.Runs;

namespace Hybrid.Training.Algorithms;

/// <summary>
/// Concurrent DQN: K worker threads act and learn on one shared Q network, one target network and one replay buffer.
/// Each worker steps its own lanes epsilon-greedily with the shared parameters as they stand, writes its transitions
/// into the shared replay, and every train_frequency of its vector steps past learning_starts takes gradient steps on
/// batches it draws from the replay, applying each to the shared parameters under the chosen update mode: one mutex
/// around the optimizer step (<c>lock</c>), none (<c>hogwild</c>, Recht et al. 2011), or a server thread. The replay
/// is one structure behind its own lock (inserts, draws and priority updates are short next to a gradient). The
/// worker whose steps cross a multiple of target_update_interval refreshes the target network. Not deterministic:
/// the threads' interleaving decides what each reads. Checkpoints hold theta, the target network and Adam's moments
/// (a snapshot taken while the workers run, as the asynchronous methods take theirs); a resumed run refills its replay.
/// </summary>
internal static class ConcurrentDqn
{
    const string Kind = "dqn concurrent";

    public static RunSummary Train(DqnConfig config, RunContext run)
    {
        ModelSpec spec = Acting.QSpec(config);
        float[] theta = Acting.InitialTheta(spec.Build(), config.Seed);
        var target = (float[])theta.Clone();
        var optimizer = new Adam(theta.Length);
        if (run.Resumed is { } checkpoint)
        {
            RunState.Load(checkpoint, spec, theta, optimizer, Kind, r => BinaryState.Read<float>(r, target, "target network"));
            optimizer.Steps = checkpoint.Updates;
        }
        CheckpointData Save() => RunState.Save(spec, theta, optimizer, Kind, w => BinaryState.Write<float>(w, target));
        var group = new WorkerGroup("dqn");
        var shared = new SharedParameters(theta, optimizer, config.Async.Update, config.Threads, group, run.Metrics);
        var replay = new ReplayBuffer(config.BufferSize, EnvRegistry.Spec(config.Env).ObservationSize);
        PrioritizedReplay? priorities = config.Replay == ReplayKind.Prioritized ? new PrioritizedReplay(replay, config.PrioritizedAlpha, config.PrioritizedEps) : null;
        var evaluation = PeriodicEvaluation.For(config, config.Evaluation, spec, theta, run, group);
        run.Metrics.Telemetry = new Telemetry(run, shared, config.Threads);
        var state = new Shared(config, spec, shared, target, replay, priorities, run, group, evaluation);
        for (int id = 0; id < config.Threads; id++) group.Start("worker", id, state.Work);
        group.Supervise(shared, run, Save);
        if (run.Checkpoints.Kept) run.Checkpoints.Save(Save());
        if (!run.Stop.Solved) evaluation.RunNow();
        return run.Finish(config.Threads, config.TotalEnvs);
    }

    /// <summary>The workers' wait for the lock per update (lock mode) and updates per second per thread.</summary>
    sealed class Telemetry(RunContext run, SharedParameters shared, int threads) : ITelemetrySource
    {
        (long Updates, double Wait) _last;

        public RuntimeTelemetry Interval(double seconds)
        {
            (long Updates, double Wait) now = (run.Metrics.Updates, shared.LockWaitSeconds);
            RuntimeTelemetry t = Between(_last, now, seconds);
            _last = now;
            return t;
        }

        public RuntimeTelemetry Total(double seconds) => Between(default, (run.Metrics.Updates, shared.LockWaitSeconds), seconds);

        RuntimeTelemetry Between((long Updates, double Wait) a, (long Updates, double Wait) b, double seconds)
        {
            long updates = b.Updates - a.Updates;
            return RuntimeTelemetry.None with
            {
                UpdatesPerSecond = seconds > 0 ? updates / seconds : double.NaN,
                UpdatesPerSecondPerThread = seconds > 0 ? updates / seconds / threads : double.NaN,
                LockWaitMicroseconds = shared.Mode == UpdateMode.Lock && updates > 0 ? (b.Wait - a.Wait) / updates * 1e6 : double.NaN,
            };
        }
    }

    /// <summary>What the workers share, and the worker loop.</summary>
    sealed class Shared(DqnConfig config, ModelSpec spec, SharedParameters shared, float[] target, ReplayBuffer replay, PrioritizedReplay? priorities,
        RunContext run, WorkerGroup group, PeriodicEvaluation evaluation)
    {
        readonly object _replayGate = new();

        public void Work(int id)
        {
            string who = $"dqn worker {id}";
            int n = config.Lanes.NumEnvs, batch = config.BatchSize;
            VectorEnv env = config.MakeEnv(n);
            env.Reset(config.WorkerEnvSeed(id, run.Segment));
            int obs = env.ObservationSize;
            var online = (QNetwork)spec.Build();
            var targetNet = (QNetwork)spec.Build();
            QNetwork? nextNet = config.DoubleQ ? (QNetwork)spec.Build() : null;
            int actions = online.Actions;
            online.EnsureCapacity(Math.Max(batch, n));
            targetNet.EnsureCapacity(batch);
            nextNet?.EnsureCapacity(batch);
            var writer = new NStepWriter(n, config.NStep, obs, config.Gamma);
            Rng rng = Acting.WorkerRng(config, id, run.Segment);
            var sampling = new Rng((ulong)config.Seed ^ AlgoConfig.SegmentSalt(run.Segment), RandomStreams.ReplaySampling + (ulong)id);
            var before = new float[n * obs];
            var laneActions = new int[n];
            var gradient = new float[shared.Theta.Length];
            var qGradient = new float[batch * actions];
            int[] slots = new int[batch], batchActions = new int[batch];
            float[] batchObs = new float[batch * obs], batchNext = new float[batch * obs];
            float[] rewards = new float[batch], discounts = new float[batch], targets = new float[batch], weights = new float[batch], errors = new float[batch];
            Array.Fill(weights, 1f);
            var tally = new UpdateTally();
            long vectorSteps = 0, updates = 0, global = run.Metrics.EnvSteps;

            while (!group.StopRequested && !run.ShouldStop)
            {
                // Act on every lane with the shared parameters as they stand.
                float epsilon = config.Epsilon(global);
                env.Observations.CopyTo(before);
                online.Forward(shared.Theta, before, n);
                ReadOnlySpan<float> q = online.QValues(n);
                for (int lane = 0; lane < n; lane++)
                    laneActions[lane] = rng.NextFloat() < epsilon ? rng.NextInt(actions) : TensorPrimitives.IndexOfMax(q.Slice(lane * actions, actions));
                env.Step(laneActions);
                vectorSteps++;
                lock (_replayGate)
                    for (int lane = 0; lane < n; lane++)
                    {
                        bool terminated = env.Terminated[lane], ended = terminated || env.Truncated[lane];
                        ReadOnlySpan<float> next = ended ? env.FinalObservations.Slice(lane * obs, obs) : env.Observations.Slice(lane * obs, obs);
                        writer.Add(lane, before.AsSpan(lane * obs, obs), laneActions[lane], env.Rewards[lane], terminated, ended && !terminated, next, replay);
                    }
                long previous = global;
                global = run.Metrics.AddSteps(n);
                run.Metrics.AddEpisodes(env.Episodes.Records);
                env.Episodes.Clear();

                if (global >= config.LearningStarts && vectorSteps % config.TrainFrequency == 0)
                    for (int g = 0; g < config.GradientSteps && !group.StopRequested; g++)
                    {
                        lock (_replayGate)
                        {
                            if (priorities is not null) priorities.Sample(sampling, config.Beta(global), slots, weights);
                            else replay.SampleUniform(sampling, slots);
                            replay.Gather(slots, batchObs, batchActions, rewards, discounts, batchNext);
                        }
                        long basedOn = shared.Version;
                        DqnTargets.Compute(targetNet, target, nextNet, shared.Theta, batchNext, rewards, discounts, batch, targets);
                        float loss = DqnTargets.HuberGradient(online, shared.Theta, batchObs, batchActions, targets, weights, batch, qGradient, errors);
                        if (priorities is not null)
                            lock (_replayGate) priorities.Update(slots, errors);
                        Array.Clear(gradient);
                        online.Backward(shared.Theta, batchObs, qGradient, gradient, batch);
                        updates++;
                        UpdateRules.CheckFinite(loss, who, updates);
                        UpdateRules.Clip(gradient, config.MaxGradNorm, who, updates);
                        if (!shared.Apply(gradient, UpdateRules.LearningRate(config, global), basedOn, ref tally)) break;
                        tally.Add(loss);
                        tally.ReportTo(run.Metrics);
                    }
                // The worker whose steps cross a multiple of the interval refreshes the target network.
                if (previous / config.TargetUpdateInterval != global / config.TargetUpdateInterval) RefreshTarget(who, updates);
                evaluation.MaybeRun(global);
            }
            tally.ReportTo(run.Metrics, force: true);
        }

        void RefreshTarget(string who, long updates)
        {
            float[] theta = shared.Theta;
            if (config.Tau >= 1f) theta.CopyTo(target, 0);
            else
                for (int p = 0; p < target.Length; p++) target[p] += config.Tau * (theta[p] - target[p]);
            UpdateRules.CheckParameters(target, who, updates);
        }
    }
}
