namespace Hybrid.Tests.Cli;

/// <summary>Bad input, tried as a new user would: one clear line (or one per parse error and where help is), exit code 2, no stack trace.</summary>
public sealed class BadInputCliTests() : TempFolderTests("hybrid-bad-input")
{
    [Theory]
    [InlineData("train --algo a2c --num-envs 1000000000", "GiB (a network of")]
    [InlineData("train --algo a2c --t-max 100000000", "800,000,000 samples held at once")]
    [InlineData("train --algo a2c --hidden 100000,100000", "hidden was 100000,100000")]
    [InlineData("train --algo a3c --hidden 100000,100000", "parameters must number under")]
    [InlineData("train --algo impala --batch 100000 --max-env-steps 5000", "so the run would make no update")]
    [InlineData("train --algo a2c --bogus 3", "hybrid train: Unrecognized command or argument '--bogus'")]
    [InlineData("bench env --num-envs 0", "hybrid bench env: --num-envs was 0")]
    [InlineData("bench nn --samples 0", "hybrid bench nn: --samples was 0")]
    [InlineData("render --env MinAtar/Breakout-v0 --steps -5", "hybrid render: --steps was -5")]
    [InlineData("train --algo a2c --config DIR", "is a directory; expected a YAML file")]
    [InlineData("train --algo a2c --config BINARY", "is not a text file")]
    [InlineData("train --algo a2c --config MISSING", "does not exist")]
    [InlineData("train --algo a2c --config /dev/zero", "is larger than 1 MiB (or never ends")]
    [InlineData("train --algo a2c --config DUPLICATEKEY", "line 3: the key 'max_env_steps' appears twice.")]
    [InlineData("train --algo a2c --config TABS", "line 2: a tab indents this line; YAML indents with spaces.")]
    [InlineData("train --algo a2c --config /dev/urandom", "is larger than 1 MiB (or never ends")]
    [InlineData("compare /dev/zero", "is larger than 1 MiB (or never ends")]
    [InlineData("speedup /dev/zero", "is larger than 1 MiB (or never ends")]
    [InlineData("compare DIR", "is a directory; expected a YAML file")]
    [InlineData("compare OVERSUBSCRIBED", "arm 'GA3C' keeps 3 threads busy (1 + 2 helpers), and each run gets 1 core; expected at most 1 thread per run")]
    [InlineData("compare OVERSUBSCRIBED --rank-by speed", "Argument 'speed' not recognized. Must be one of")]
    [InlineData("train --algo a2c --max-wall-seconds NaN", "max_wall_seconds 'NaN' is not valid: expected a finite number or auto")]
    [InlineData("train --algo a2c --learning-rate Infinity", "expected a finite number")]
    [InlineData("train --algo a2c --env CartPol-v1", "Did you mean CartPole-v1?")]
    [InlineData("train --algo a2c --out BLANK", "--out was ' '; expected a folder path")]
    [InlineData("compare BLANKFILE --out BLANK", "--out was ' '; expected a folder path")]
    [InlineData("train --algo a2c --env MinAtar/Breakout-v0 --stop-when-solved", "has no solve threshold")]
    [InlineData("train --algo a2c --device gpu", "device 'gpu' is not valid: expected one of auto, cpu, cuda, ilgpu-cpu")]
    [InlineData("train --algo a3c --device cpu", "'device' is not a setting of a3c")]
    [InlineData("train --algo a2c --out FILE", "is a file")]
    [InlineData("bogus", "hybrid: Unrecognized command or argument 'bogus'")]
    [InlineData("train --max-env-steps 1000", "--algo is required (or --resume RUN_DIR")]
    [InlineData("train --resume MISSING", "does not exist; expected the folder of a run")]
    [InlineData("train --resume FILE", "is a file; expected the folder of a run")]
    [InlineData("train --resume DIR", "holds no checkpoint.bin")]
    [InlineData("train --resume DAMAGED", "is not a Hybrid checkpoint")]
    [InlineData("train --resume DAMAGED --out elsewhere", "--out and --no-preset do not apply")]
    [InlineData("eval DAMAGED", "is not a Hybrid checkpoint")]
    [InlineData("train --resume FOREIGN", "is of a2c on CartPole-v1, but the folder's config.yaml is a3c on Acrobot-v1; expected the checkpoint of the run in that folder")]
    [InlineData("eval FOREIGN", "is of a2c on CartPole-v1, but the folder's config.yaml is a3c on Acrobot-v1")]
    [InlineData("cluster learner --cluster http://10.0.0.1:6379", "expected localhost, localhost:GATEWAY_PORT or redis://HOST:PORT")]
    [InlineData("cluster learner --advertise somewhere", "--advertise was 'somewhere'; expected an IP address")]
    [InlineData("cluster learner --local-actors -1", "--local-actors was -1")]
    [InlineData("cluster actors --threads 0", "hybrid cluster actors: --threads was 0")]
    [InlineData("cluster actors --cluster-id two/runs", "cluster actors: --cluster-id was 'two/runs'; expected 1 to 64 letters, digits, '-' or '_'.")]
    [InlineData("cluster learner --cluster-id two/runs", "cluster learner: --cluster-id was 'two/runs'")]
    [InlineData("cluster learner --idle-timeout NaN", "--idle-timeout was NaN; expected seconds >= 0")]
    [InlineData("cluster actors --wait -1", "cluster actors: --wait was -1; expected seconds >= 0")]
    [InlineData("cluster learner --resume MISSING", "does not exist; expected the folder of a run")]
    [InlineData("cluster learner --resume DIR", "holds no checkpoint.bin")]
    [InlineData("cluster learner --resume DAMAGED --out elsewhere", "cluster learner: --resume continues the run in its own folder; --out does not apply")]
    [InlineData("eval MISSING", "does not exist; expected the folder of a run")]
    [InlineData("eval DIR --episodes 0", "hybrid eval: --episodes was 0")]
    [InlineData("eval DIR --episodes 1000000", "expected 1 to 100,000")]
    [InlineData("render --policy DIR", "holds no checkpoint.bin")]
    [InlineData("render --env MinAtar/Breakout-v1 --greedy", "--greedy needs --policy")]
    [InlineData("render --env MinAtar/Breakout-v1 --image out.gif", "expected a .png file name")]
    public void BadInputGetsALineAndExitCode2(string line, string expected)
    {
        string binary = Path.Combine(Folder, "binary.yaml"), file = Path.Combine(Folder, "file.txt");
        File.WriteAllBytes(binary, [0x89, 0x50, 0x4E, 0x47, 0x00, 0x00, 0x1A]);
        File.WriteAllText(file, "not a folder");
        string duplicateKey = Path.Combine(Folder, "duplicate.yaml"), tabs = Path.Combine(Folder, "tabs.yaml");
        File.WriteAllText(duplicateKey, "env: CartPole-v1\nmax_env_steps: 100\nmax_env_steps: 200\n");
        File.WriteAllText(tabs, "env: CartPole-v1\n\tmax_env_steps: 100\n");
        string oversubscribed = Path.Combine(Folder, "oversubscribed.yaml");
        File.WriteAllText(oversubscribed, "name: over\nenvs: [CartPole-v1]\nseeds: [1]\nmax_env_steps: 1000\ncores: 1\narms: [{name: GA3C, algo: ga3c}]\n");
        string damaged = Directory.CreateDirectory(Path.Combine(Folder, "damaged")).FullName;
        File.WriteAllText(Path.Combine(damaged, "checkpoint.bin"), "truncated by a full disk");
        // A run folder holding another run's checkpoint.bin: an a2c CartPole checkpoint beside an a3c Acrobot config.yaml.
        string foreign = Path.Combine(Folder, "foreign");
        if (line.Contains("FOREIGN"))
        {
            Assert.Equal(0, TrainCliTests.Cli("train", "--algo", "a2c", "--max-env-steps", "200", "--quiet", "--out", foreign).Code);
            File.WriteAllText(Path.Combine(foreign, "config.yaml"), "algo: a3c\nenv: Acrobot-v1\n");
        }
        string metrics = line.Contains("FOREIGN") ? File.ReadAllText(Path.Combine(foreign, "metrics.csv")) : "";
        string[] args = line.Split(' ').Select(a => a switch
        {
            "DIR" => Folder,
            "BINARY" => binary,
            "MISSING" => Path.Combine(Folder, "missing.yaml"),
            "FILE" => file,
            "DAMAGED" => damaged,
            "BLANK" => " ",
            "BLANKFILE" => file,
            "OVERSUBSCRIBED" => oversubscribed,
            "DUPLICATEKEY" => duplicateKey,
            "TABS" => tabs,
            "FOREIGN" => foreign,
            _ => a,
        }).ToArray();
        if (args[0] == "train" && !args.Contains("--out") && !args.Contains("--resume")) args = [.. args, "--out", Path.Combine(Folder, "run")];
        (int code, string output, string error) = TrainCliTests.Cli(args);
        Assert.True(code == 2, $"exit {code}; stdout: {output}; stderr: {error}");
        Assert.Contains(expected, error);
        Assert.DoesNotContain("   at ", error);
        Assert.DoesNotContain("Description:", error + output);
        Assert.False(Directory.Exists(Path.Combine(Folder, "run")), "a refused run leaves no folder");
        if (line.Contains("FOREIGN"))
        {
            Assert.Equal("algo: a3c\nenv: Acrobot-v1\n", File.ReadAllText(Path.Combine(foreign, "config.yaml")));
            Assert.Equal(metrics, File.ReadAllText(Path.Combine(foreign, "metrics.csv")));
        }
    }
}
