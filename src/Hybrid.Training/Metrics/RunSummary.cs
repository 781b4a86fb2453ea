using System.Text;
using System.Text.Json;

namespace Hybrid.Training.Metrics;

/// <summary>The outcome of a run: the fields of summary.json (docs/architecture.md, "Run folder").</summary>
/// <param name="Algo">Algorithm name.</param>
/// <param name="Env">Environment id.</param>
/// <param name="Seed">Seed.</param>
/// <param name="Device">Where the run ran: cpu, cuda or ilgpu-cpu.</param>
/// <param name="Threads">Threads used.</param>
/// <param name="NumEnvs">Env lanes stepped in total.</param>
/// <param name="EnvSteps">Env steps taken.</param>
/// <param name="Updates">Parameter updates applied.</param>
/// <param name="WallSeconds">Wall-clock seconds of training (evaluation included).</param>
/// <param name="StepsPerSecond">env_steps / wall_seconds.</param>
/// <param name="SolveThreshold">The env's solve threshold (infinite where the env has none, written as null).</param>
/// <param name="Solved">Whether the criterion was met.</param>
/// <param name="SolveCriterion">train-last-100 or greedy-eval-100.</param>
/// <param name="SolvedAtEnvSteps">Env steps when solved (null if not).</param>
/// <param name="SolvedAtSeconds">Seconds when solved (null if not), greedy evaluation's time left out.</param>
/// <param name="FinalMeanReturn">Mean return of the last 100 episodes the criterion counts (NaN if none finished).</param>
/// <param name="Episodes">Training episodes finished.</param>
public sealed record RunSummary(string Algo, string Env, int Seed, string Device, int Threads, int NumEnvs, long EnvSteps, long Updates,
    double WallSeconds, double StepsPerSecond, double SolveThreshold, bool Solved, string SolveCriterion, long? SolvedAtEnvSteps,
    double? SolvedAtSeconds, double FinalMeanReturn, long Episodes)
{
    /// <summary>Mean age of the applied gradients in shared-parameter versions (async methods) or of the learner's unrolls (IMPALA); null where nothing lags (A2C).</summary>
    public double? PolicyLagMean { get; init; }

    /// <summary>The largest such age; null where nothing lags.</summary>
    public long? PolicyLagMax { get; init; }

    /// <summary>The device's name as its runtime reports it (null in summaries written before it was recorded).</summary>
    public string? DeviceName { get; init; }

    /// <summary>The device's memory in bytes (null where not recorded).</summary>
    public long? DeviceMemoryBytes { get; init; }

    /// <summary><c>finished</c> (the budget was spent or the run solved), <c>interrupted</c> (stopped by a signal) or <c>failed</c>.</summary>
    public string Status { get; init; } = Finished;

    /// <summary>summary.json's status values: the budget was spent or the run solved; stopped by a signal; a worker failed.</summary>
    public const string Finished = "finished", Interrupted = "interrupted", Failed = "failed";

    /// <summary>Why a failed run failed (null otherwise).</summary>
    public string? Error { get; init; }

    /// <summary>Hybrid's version and commit.</summary>
    public string? Version { get; init; }

    /// <summary>The command line that started the run, where it came from one.</summary>
    public string? Command { get; init; }

    /// <summary>The machine: CPU, cores, operating system, runtime.</summary>
    public string? Machine { get; init; }

    /// <summary>When the run started and ended (ISO 8601, local time with offset).</summary>
    public string? Started { get; init; }

    /// <inheritdoc cref="Started"/>
    public string? Ended { get; init; }

    /// <summary>How many times the run was resumed from a checkpoint (<c>train --resume</c>).</summary>
    public int Resumed { get; init; }

    /// <summary>The runtime's telemetry over the run (GA3C, hybrid), or null.</summary>
    public RuntimeTelemetry? Runtime { get; init; }

    /// <summary>This process's CPU seconds over the run, every thread (null in summaries written before it was recorded).</summary>
    public double? CpuSeconds { get; init; }

    /// <summary>CPU seconds when the run was solved (null if not, or not recorded).</summary>
    public double? SolvedAtCpuSeconds { get; init; }

    /// <summary>Wall seconds spent in greedy evaluation (Q methods), left out of <see cref="SolvedAtSeconds"/>; null where none.</summary>
    public double? EvalSeconds { get; init; }

    /// <summary>The machine's load while the run went (null where not recorded).</summary>
    public MachineLoad? Load { get; init; }

    /// <summary>Reads a summary.json written by <see cref="ToJson"/>; returns null unless its status is "finished".</summary>
    /// <exception cref="FormatException">The text is not such a JSON object.</exception>
    public static RunSummary? ParseFinished(string json)
    {
        try
        {
            using JsonDocument doc = JsonDocument.Parse(json);
            JsonElement o = doc.RootElement;
            if (!o.TryGetProperty("status", out JsonElement status) || status.GetString() != Finished) return null;
            static double? D(JsonElement o, string key) => o.TryGetProperty(key, out JsonElement v) && v.ValueKind == JsonValueKind.Number ? v.GetDouble() : null;
            static long? L(JsonElement o, string key) => o.TryGetProperty(key, out JsonElement v) && v.ValueKind == JsonValueKind.Number ? v.GetInt64() : null;
            static string? S(JsonElement o, string key) => o.TryGetProperty(key, out JsonElement v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
            return new RunSummary(o.GetProperty("algo").GetString()!, o.GetProperty("env").GetString()!, o.GetProperty("seed").GetInt32(),
                o.GetProperty("device").GetString()!, o.GetProperty("threads").GetInt32(), o.GetProperty("num_envs").GetInt32(),
                o.GetProperty("env_steps").GetInt64(), o.GetProperty("updates").GetInt64(), o.GetProperty("wall_seconds").GetDouble(),
                o.GetProperty("steps_per_second").GetDouble(), D(o, "solve_threshold") ?? double.PositiveInfinity, o.GetProperty("solved").GetBoolean(),
                o.GetProperty("solve_criterion").GetString()!, L(o, "solved_at_env_steps"), D(o, "solved_at_seconds"),
                D(o, "final_mean_return") ?? double.NaN, o.GetProperty("episodes").GetInt64())
            {
                PolicyLagMean = D(o, "policy_lag_mean"),
                PolicyLagMax = L(o, "policy_lag_max"),
                DeviceName = S(o, "device_name"),
                DeviceMemoryBytes = L(o, "device_memory_bytes"),
                Version = S(o, "version"),
                Command = S(o, "command"),
                Machine = S(o, "machine"),
                Started = S(o, "started"),
                Ended = S(o, "ended"),
                Resumed = (int)(L(o, "resumed") ?? 0),
                CpuSeconds = D(o, "cpu_seconds"),
                SolvedAtCpuSeconds = D(o, "solved_at_cpu_seconds"),
                EvalSeconds = D(o, "eval_seconds"),
                Load = o.TryGetProperty("load", out JsonElement load) && load.ValueKind == JsonValueKind.Object
                    ? new MachineLoad((int)(L(load, "cores") ?? 0), (int)(L(load, "threads_used") ?? 0), D(load, "load_average_start") ?? double.NaN,
                        D(load, "load_average_end") ?? double.NaN, D(load, "load_average_max") ?? double.NaN,
                        D(load, "other_busy_cores_mean") ?? double.NaN, D(load, "other_busy_cores_max") ?? double.NaN, (int)(L(load, "samples") ?? 0))
                    {
                        Recorded = load.TryGetProperty("busy", out JsonElement busy) && busy.ValueKind is JsonValueKind.True or JsonValueKind.False ? busy.GetBoolean() : null,
                    }
                    : null,
            };
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            throw new FormatException($"summary.json is not a Hybrid run summary: {e.Message}", e);
        }
    }

    /// <summary>The JSON object, with the keys in a fixed order.</summary>
    public string ToJson()
    {
        using var stream = new MemoryStream();
        using (var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            json.WriteStartObject();
            json.WriteString("algo", Algo);
            json.WriteString("env", Env);
            json.WriteNumber("seed", Seed);
            json.WriteString("device", Device);
            if (DeviceName is not null) json.WriteString("device_name", DeviceName);
            if (DeviceMemoryBytes is long memory) json.WriteNumber("device_memory_bytes", memory);
            json.WriteNumber("threads", Threads);
            json.WriteNumber("num_envs", NumEnvs);
            json.WriteNumber("env_steps", EnvSteps);
            json.WriteNumber("updates", Updates);
            json.WriteNumber("wall_seconds", Math.Round(WallSeconds, 3));
            json.WriteNumber("steps_per_second", Math.Round(StepsPerSecond));
            // MinAtar sets no threshold (infinite: never solved); JSON has no infinity, so it is written as null.
            if (double.IsFinite(SolveThreshold)) json.WriteNumber("solve_threshold", SolveThreshold);
            else json.WriteNull("solve_threshold");
            json.WriteBoolean("solved", Solved);
            json.WriteString("solve_criterion", SolveCriterion);
            if (SolvedAtEnvSteps is long s) json.WriteNumber("solved_at_env_steps", s); else json.WriteNull("solved_at_env_steps");
            if (SolvedAtSeconds is double t) json.WriteNumber("solved_at_seconds", Math.Round(t, 3)); else json.WriteNull("solved_at_seconds");
            if (double.IsFinite(FinalMeanReturn)) json.WriteNumber("final_mean_return", Math.Round(FinalMeanReturn, 3)); else json.WriteNull("final_mean_return");
            json.WriteNumber("episodes", Episodes);
            if (PolicyLagMean is double lag) json.WriteNumber("policy_lag_mean", Math.Round(lag, 3)); else json.WriteNull("policy_lag_mean");
            if (PolicyLagMax is long lagMax) json.WriteNumber("policy_lag_max", lagMax); else json.WriteNull("policy_lag_max");
            json.WriteString("status", Status);
            if (Error is not null) json.WriteString("error", Error);
            foreach ((string key, string? value) in new[] { ("version", Version), ("command", Command), ("machine", Machine), ("started", Started), ("ended", Ended) })
                if (value is not null) json.WriteString(key, value);
            if (Resumed > 0) json.WriteNumber("resumed", Resumed);
            if (CpuSeconds is double cpu) json.WriteNumber("cpu_seconds", Math.Round(cpu, 3));
            if (SolvedAtCpuSeconds is double solvedCpu) json.WriteNumber("solved_at_cpu_seconds", Math.Round(solvedCpu, 3));
            if (EvalSeconds is double evalSeconds) json.WriteNumber("eval_seconds", Math.Round(evalSeconds, 3));
            if (Load is MachineLoad load)
            {
                json.WriteStartObject("load");
                json.WriteNumber("cores", load.Cores);
                json.WriteNumber("threads_used", load.ThreadsUsed);
                foreach ((string key, double value) in new[] { ("load_average_start", load.LoadAverageStart), ("load_average_end", load.LoadAverageEnd),
                    ("load_average_max", load.LoadAverageMax), ("other_busy_cores_mean", load.OtherBusyCoresMean), ("other_busy_cores_max", load.OtherBusyCoresMax) })
                    if (double.IsFinite(value)) json.WriteNumber(key, Math.Round(value, 3)); else json.WriteNull(key);
                json.WriteNumber("samples", load.Samples);
                json.WriteBoolean("busy", load.Busy);
                json.WriteEndObject();
            }
            if (Runtime is RuntimeTelemetry runtime)
            {
                json.WriteStartObject("runtime");
                foreach ((string name, double value) in runtime.Values())
                    if (double.IsFinite(value)) json.WriteNumber(name, Math.Round(value, 4));
                json.WriteEndObject();
                if (runtime.ActorProcesses is { Count: > 0 } processes)
                {
                    json.WriteStartArray("actor_processes");
                    foreach (ActorProcessRate a in processes)
                    {
                        json.WriteStartObject();
                        json.WriteString("process", a.Process);
                        json.WriteNumber("threads", a.Threads);
                        json.WriteNumber("env_steps", a.EnvSteps);
                        if (double.IsFinite(a.StepsPerSecond)) json.WriteNumber("steps_per_second", Math.Round(a.StepsPerSecond)); else json.WriteNull("steps_per_second");
                        json.WriteEndObject();
                    }
                    json.WriteEndArray();
                }
            }
            json.WriteEndObject();
        }
        return Encoding.UTF8.GetString(stream.ToArray()) + "\n";
    }
}
