using System.CommandLine;
using System.Globalization;
using System.Text;
using Hybrid.Envs;
using Hybrid.Cli.Bench;
using Hybrid.Envs.MinAtar;

namespace Hybrid.Cli.Envs;

/// <summary>
/// <c>hybrid render --env MinAtar/NAME-v0 [--seed S] [--steps T]</c>: plays T steps of uniformly random actions in one
/// lane and prints every frame as a text grid, with the legend, the action taken, the reward and episode ends.
/// </summary>
public static class RenderCommand
{
    internal static Command Build()
    {
        string[] games = EnvRegistry.Names.Where(EnvRegistry.IsMinAtar).ToArray();
        var env = new Option<string>("--env") { Description = $"MinAtar env to watch: {string.Join(", ", games)}.", Required = true };
        var seed = new Option<uint>("--seed") { Description = "Seed of the lane and of the random actions.", DefaultValueFactory = _ => 0 };
        var steps = new Option<int>("--steps") { Description = "Steps to play (frames after the first).", DefaultValueFactory = _ => 40 };
        var sticky = new Option<double>("--sticky-action-prob") { Description = "Chance that a step repeats the previous action.", DefaultValueFactory = _ => 0.1 };
        var noRamping = new Option<bool>("--no-difficulty-ramping") { Description = "Keep Asterix, Seaquest and Space Invaders at their starting speed." };
        var reference = new Option<bool>("--reference-seed")
        {
            Description = "Seed the lane like the reference package's seed(S) (Mersenne Twister), so the game's draws match it.",
        };
        steps.AtLeastOne();
        var command = new Command("render", "Play a MinAtar game with random actions and print each frame as a text grid.")
        {
            env, seed, steps, sticky, noRamping, reference,
        };
        command.SetAction(parse => Run(parse.GetValue(env)!, parse.GetValue(seed), parse.GetValue(steps),
            new MinAtarOptions(parse.GetValue(sticky), !parse.GetValue(noRamping)), parse.GetValue(reference), Console.Out, Console.Error));
        return command;
    }

    /// <summary>Plays and prints; returns the exit code (0, or 2 for bad input).</summary>
    internal static int Run(string envId, uint seed, int steps, MinAtarOptions options, bool referenceSeed, TextWriter output, TextWriter error)
    {
        MinAtarEnv env;
        try
        {
            if (!EnvRegistry.IsMinAtar(envId))
            {
                EnvRegistry.Spec(envId); // an unknown name gets the registry's list
                throw new ArgumentException($"--env was '{envId}'; render draws MinAtar games only (MinAtar/<Game>-v0 or -v1).");
            }
            if (steps < 1) throw new ArgumentOutOfRangeException(nameof(steps), steps, $"--steps was {steps}; expected at least 1.");
            env = (MinAtarEnv)EnvRegistry.Make(envId, 1, Hybrid.Envs.Simd.LaneWidth.Auto, options);
        }
        catch (ArgumentException e)
        {
            error.WriteLine($"render: {ErrorText.Of(e)}");
            return 2;
        }
        MinAtarGameInfo game = env.Game;
        env.Reset(seed);
        if (referenceSeed) env.ResetLaneLikeReference(0, seed);
        int actionCount = ((DiscreteSpace)env.Spec.ActionSpace).N;
        var random = new Random((int)(seed & int.MaxValue));
        var action = new int[1];
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"{envId}, seed {seed}{(referenceSeed ? " (reference stream)" : "")}, random actions, sticky {options.StickyActionProbability}, ramping {(options.DifficultyRamping ? "on" : "off")}\n");
        text.Append(CultureInfo.InvariantCulture, $"legend: {MinAtarText.Legend(game)}\n\nstep 0 (reset)\n");
        MinAtarText.AppendGrid(text, game, env.Observations);
        output.Write(text);
        float episodeReturn = 0;
        for (int t = 1; t <= steps; t++)
        {
            text.Clear();
            action[0] = random.Next(actionCount);
            env.Step(action);
            episodeReturn += env.Rewards[0];
            bool ended = env.Terminated[0] || env.Truncated[0];
            text.Append(CultureInfo.InvariantCulture, $"step {t}: pressed {MinAtarText.ActionName(env.GameAction(action[0]))}, reward {env.Rewards[0]}\n");
            MinAtarText.AppendGrid(text, game, ended ? env.FinalObservations : env.Observations);
            if (ended)
            {
                text.Append(CultureInfo.InvariantCulture, $"episode over ({(env.Terminated[0] ? "terminal" : "time limit")}): return {episodeReturn}, {env.Episodes.Records[0].Length} steps; a new one starts\n");
                episodeReturn = 0;
            }
            env.Episodes.Clear();
            output.Write(text);
        }
        return 0;
    }
}
