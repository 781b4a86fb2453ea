using System.CommandLine;
using System.Globalization;
using System.Text;
using Hybrid.Cli.Bench;
using Hybrid.Envs;
using Hybrid.Envs.MinAtar;
using Hybrid.Nn;
using Hybrid.Training.Algorithms;

namespace Hybrid.Cli.Envs;

/// <summary>
/// <c>hybrid render --env MinAtar/NAME-v0 [--seed S] [--steps T]</c>, or <c>hybrid render --policy RUN_DIR</c>: plays T
/// steps in one lane, with uniformly random actions or a trained policy's, and prints every frame as a text grid with
/// the legend, the action taken, the reward and episode ends; <c>--image FILE.png</c> also draws the frames as a strip.
/// </summary>
public static class RenderCommand
{
    internal static Command Build()
    {
        string[] games = EnvRegistry.Names.Where(EnvRegistry.IsMinAtar).ToArray();
        var env = new Option<string>("--env") { Description = $"MinAtar env to watch: {string.Join(", ", games)} (with --policy: the run's)." };
        var policy = new Option<string>("--policy") { Description = "A run folder made by train on a MinAtar game: its checkpoint's policy chooses the actions, in the run's env settings." };
        var greedy = new Option<bool>("--greedy") { Description = "With --policy: the most likely action instead of a draw from the policy." };
        var image = new Option<string>("--image") { Description = $"Also draw the frames into this PNG file, ten to a row (the first {FrameStrip.MaxFrames})." };
        var seed = new Option<uint>("--seed") { Description = "Seed of the lane and of the actions.", DefaultValueFactory = _ => 0 };
        var steps = new Option<int>("--steps") { Description = "Steps to play (frames after the first).", DefaultValueFactory = _ => 40 };
        var sticky = new Option<double>("--sticky-action-prob") { Description = "Chance that a step repeats the previous action (without --policy).", DefaultValueFactory = _ => 0.1 };
        var noRamping = new Option<bool>("--no-difficulty-ramping") { Description = "Keep Asterix, Seaquest and Space Invaders at their starting speed (without --policy)." };
        var reference = new Option<bool>("--reference-seed")
        {
            Description = "Seed the lane like the reference package's seed(S) (Mersenne Twister), so the game's draws match it.",
        };
        steps.AtLeastOne();
        var command = new Command("render", "Play a MinAtar game with random actions or a trained policy and print each frame as a text grid (and a PNG strip).")
        {
            env, policy, greedy, image, seed, steps, sticky, noRamping, reference,
        };
        command.SetAction(parse => Run(new Request(parse.GetValue(env), parse.GetValue(seed), parse.GetValue(steps),
            new MinAtarOptions(parse.GetValue(sticky), !parse.GetValue(noRamping)), parse.GetValue(reference))
        {
            Policy = parse.GetValue(policy),
            Greedy = parse.GetValue(greedy),
            Image = parse.GetValue(image),
        }, Console.Out, Console.Error));
        return command;
    }

    /// <summary>What to play: the env (or the policy's), seed, steps, MinAtar options, and where the actions come from.</summary>
    internal sealed record Request(string? Env, uint Seed, int Steps, MinAtarOptions Options, bool ReferenceSeed)
    {
        public string? Policy { get; init; }
        public bool Greedy { get; init; }
        public string? Image { get; init; }
    }

    /// <summary>Plays and prints; returns the exit code (0, or 2 for bad input).</summary>
    internal static int Run(string envId, uint seed, int steps, MinAtarOptions options, bool referenceSeed, TextWriter output, TextWriter error) =>
        Run(new Request(envId, seed, steps, options, referenceSeed), output, error);

    /// <summary>Plays and prints; returns the exit code (0, or 2 for bad input).</summary>
    internal static int Run(Request request, TextWriter output, TextWriter error)
    {
        MinAtarEnv env;
        TrainedPolicy? policy = null;
        string envId;
        try
        {
            if (request.Steps < 1) throw new ArgumentOutOfRangeException(nameof(request), request.Steps, $"--steps was {request.Steps}; expected at least 1.");
            if (request.Policy is not null)
            {
                policy = TrainedPolicy.Load(request.Policy);
                envId = policy.Config.Env;
                if (request.Env is not null && request.Env != envId)
                    throw new ArgumentException($"--env was '{request.Env}' but the run in '{request.Policy}' trained on {envId}; leave --env out with --policy.");
                if (!EnvRegistry.IsMinAtar(envId))
                    throw new ArgumentException($"the run in '{request.Policy}' trained on {envId}; render draws MinAtar games only (use eval for other envs).");
            }
            else
            {
                envId = request.Env ?? throw new ArgumentException("--env or --policy is required; see 'hybrid render --help'.");
                if (request.Greedy) throw new ArgumentException("--greedy needs --policy: random actions have no most likely one.");
            }
            if (!EnvRegistry.IsMinAtar(envId))
            {
                EnvRegistry.Spec(envId); // an unknown name gets the registry's list
                throw new ArgumentException($"--env was '{envId}'; render draws MinAtar games only (MinAtar/<Game>-v0 or -v1).");
            }
            if (request.Image is string image)
            {
                if (!image.EndsWith(".png", StringComparison.OrdinalIgnoreCase)) throw new ArgumentException($"--image was '{image}'; expected a .png file name.");
                if (Directory.Exists(image)) throw new ArgumentException($"--image '{image}' is a directory; expected a .png file name.");
                string? folder = Path.GetDirectoryName(Path.GetFullPath(image));
                if (folder is not null && !Directory.Exists(folder)) throw new ArgumentException($"--image '{image}': its folder does not exist.");
            }
            env = policy is not null ? (MinAtarEnv)policy.Config.MakeEnv(1) : (MinAtarEnv)EnvRegistry.Make(envId, 1, Hybrid.Envs.Simd.LaneWidth.Auto, request.Options);
        }
        catch (Exception e) when (e is ArgumentException or InvalidDataException or FormatException or IOException or UnauthorizedAccessException)
        {
            error.WriteLine($"render: {ErrorText.Of(e)}");
            return 2;
        }
        MinAtarGameInfo game = env.Game;
        uint seed = request.Seed;
        env.Reset(seed);
        if (request.ReferenceSeed) env.ResetLaneLikeReference(0, seed);
        int actionCount = ((DiscreteSpace)env.Spec.ActionSpace).N;
        var random = new Random((int)(seed & int.MaxValue));
        TrainedPolicy.Actor? actor = policy?.ActorFor(1);
        Rng[] rngs = [new Rng(seed, RandomStreams.RenderActions)];
        var action = new int[1];
        var strip = request.Image is null ? null : new FrameStrip(game);
        var text = new StringBuilder();
        MinAtarOptions options = policy is null ? request.Options : new MinAtarOptions(policy.Config.StickyActionProb, policy.Config.DifficultyRamping);
        string actions = policy is null ? "random actions"
            : $"{(request.Greedy ? "greedy" : "sampled")} actions of the policy in {policy.Directory} ({policy.Config.Algo}, checkpoint at {policy.Checkpoint.EnvSteps:N0} env steps)";
        text.Append(CultureInfo.InvariantCulture, $"{envId}, seed {seed}{(request.ReferenceSeed ? " (reference stream)" : "")}, {actions}, sticky {options.StickyActionProbability}, ramping {(options.DifficultyRamping ? "on" : "off")}\n");
        text.Append(CultureInfo.InvariantCulture, $"legend: {MinAtarText.Legend(game)}\n\nstep 0 (reset)\n");
        MinAtarText.AppendGrid(text, game, env.Observations);
        strip?.Add(env.Observations);
        output.Write(text);
        float episodeReturn = 0;
        for (int t = 1; t <= request.Steps; t++)
        {
            text.Clear();
            if (actor is not null) actor.Act(env.Observations, request.Greedy, rngs, action, default);
            else action[0] = random.Next(actionCount);
            env.Step(action);
            actor?.AfterStep(env.Terminated, env.Truncated);
            episodeReturn += env.Rewards[0];
            bool ended = env.Terminated[0] || env.Truncated[0];
            text.Append(CultureInfo.InvariantCulture, $"step {t}: pressed {MinAtarText.ActionName(env.GameAction(action[0]))}, reward {env.Rewards[0]}\n");
            ReadOnlySpan<float> shown = ended ? env.FinalObservations : env.Observations;
            MinAtarText.AppendGrid(text, game, shown);
            strip?.Add(shown);
            if (ended)
            {
                text.Append(CultureInfo.InvariantCulture, $"episode over ({(env.Terminated[0] ? "terminal" : "time limit")}): return {episodeReturn}, {env.Episodes.Records[0].Length} steps; a new one starts\n");
                episodeReturn = 0;
            }
            env.Episodes.Clear();
            output.Write(text);
        }
        if (strip is not null && request.Image is string path)
        {
            try
            {
                strip.Save(path);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                error.WriteLine($"render: cannot write --image '{path}': {e.Message}");
                return 1;
            }
            output.WriteLine($"image: {Path.GetFullPath(path)} ({strip.Count} frames, ten to a row; colours: {strip.Legend()})");
        }
        return 0;
    }
}
