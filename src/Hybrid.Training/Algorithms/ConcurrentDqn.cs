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
/// (a snapshot taken while the workers run, as the asynchronous methods take theirs) and, with checkpoint_replay, the
/// replay taken under its lock, so a resumed run continues with it.
/// </summary>
internal static class ConcurrentDqn
{
    const string Kind = "dqn concurrent";

    public static RunSummary Train(DqnConfig config, RunContext run)
    {
        ModelSpec spec = Acting.QSpec(config);
        var replay = new SharedReplay(config);
        (float[] theta, float[] target, Adam optimizer) = DqnParts.Parameters(spec, config, run, Kind, replay);
        CheckpointData Save() => DqnParts.Save(spec, theta, target, optimizer, Kind, replay, config.CheckpointReplay);
        var group = new WorkerGroup("dqn");
        var shared = new SharedParameters(theta, optimizer, config.Async.Update, config.Threads, group, run.Metrics);
        var evaluation = PeriodicEvaluation.For(config, config.Evaluation, spec, theta, run, group);
        run.Metrics.Telemetry = new Telemetry(run, shared, config.Threads);
        var state = new Shared(config, spec, shared, target, replay, run, group, evaluation);
        for (int id = 0; id < config.Threads; id++) group.Start("worker", id, state.Work);
        group.Supervise(shared, run, Save);
        if (run.Checkpoints.Kept) run.Checkpoints.Save(Save());
        if (!run.Stop.Solved) evaluation.RunNow();
        return run.Finish(config.Threads, config.TotalEnvs);
    }

    /// <summary>The workers' wait for the lock per update (lock mode) and updates per second per thread.</summary>
    sealed class Telemetry(RunContext run, SharedParameters shared, int threads) : SnapshotTelemetry<(long Updates, double Wait)>
    {
        protected override (long Updates, double Wait) Now() => (run.Metrics.Updates, shared.LockWaitSeconds);

        protected override RuntimeTelemetry Between((long Updates, double Wait) a, (long Updates, double Wait) b, double seconds)
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
    sealed class Shared(DqnConfig config, ModelSpec spec, SharedParameters shared, float[] target, SharedReplay sharedReplay,
        RunContext run, WorkerGroup group, PeriodicEvaluation evaluation)
    {

        public void Work(int id)
        {
            string who = $"dqn worker {id}";
            (ReplayBuffer replay, PrioritizedReplay? priorities, object gate) = (sharedReplay.Buffer, sharedReplay.Priorities, sharedReplay.Gate);
            int n = config.Lanes.NumEnvs, batch = config.BatchSize;
            VectorEnv env = config.MakeEnv(n);
            env.Reset(config.WorkerEnvSeed(id, run.Segment));
            int obs = env.ObservationSize;
            var online = (QNetwork)spec.Build();
            online.EnsureCapacity(n);
            var work = new DqnBatch(spec, batch, obs, config.DoubleQ);
            var writer = new NStepWriter(n, config.NStep, obs, config.Gamma);
            Rng rng = Acting.WorkerRng(config, id, run.Segment);
            var sampling = new Rng((ulong)config.Seed ^ AlgoConfig.SegmentSalt(run.Segment), RandomStreams.ReplaySampling + (ulong)id);
            var before = new float[n * obs];
            var laneActions = new int[n];
            var tally = new UpdateTally();
            long vectorSteps = 0, updates = 0, global = run.Metrics.EnvSteps;

            while (!group.StopRequested && !run.ShouldStop)
            {
                // Act on every lane with the shared parameters as they stand.
                DqnParts.Step(online, shared.Theta, env, before, laneActions, config.Epsilon(global), rng);
                vectorSteps++;
                lock (gate) DqnParts.Record(env, writer, before, laneActions, replay);
                long previous = global;
                global = run.Metrics.AddSteps(n);
                run.Metrics.AddEpisodes(env.Episodes.Records);
                env.Episodes.Clear();

                if (global >= config.LearningStarts && vectorSteps % config.TrainFrequency == 0)
                    for (int g = 0; g < config.GradientSteps && !group.StopRequested; g++)
                    {
                        lock (gate)
                        {
                            if (priorities is not null) priorities.Sample(sampling, config.Beta(global), work.Slots, work.Weights);
                            else replay.SampleUniform(sampling, work.Slots);
                            work.Gather(replay);
                        }
                        long basedOn = shared.Version;
                        float loss = work.Compute(shared.Theta, target, config.MaxGradNorm, who, ++updates);
                        if (priorities is not null)
                            lock (gate) priorities.Update(work.Slots, work.Errors);
                        if (!shared.Apply(work.Gradient, UpdateRules.LearningRate(config, global), basedOn, ref tally)) break;
                        tally.Add(loss);
                        tally.ReportTo(run.Metrics);
                    }
                // The worker whose steps cross a multiple of the interval refreshes the target network.
                if (previous / config.TargetUpdateInterval != global / config.TargetUpdateInterval) RefreshTarget(who, updates);
                evaluation.MaybeRun(global);
            }
            tally.ReportTo(run.Metrics, force: true);
        }

        void RefreshTarget(string who, long updates) => Polyak.Update(shared.Theta, target, config.Tau, who, updates);
    }
}
