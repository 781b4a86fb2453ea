using System.CommandLine;

namespace Hybrid.Cli;

/// <summary>Checks on option values that several commands share.</summary>
internal static class OptionChecks
{
    /// <summary>Makes <paramref name="option"/> (a path) refuse an empty or blank value with a message naming it.</summary>
    public static Option<string> NotBlank(this Option<string> option, string expected)
    {
        option.Validators.Add(r =>
        {
            string? value = r.GetValueOrDefault<string>();
            if (value is not null && string.IsNullOrWhiteSpace(value)) r.AddError($"{option.Name} was '{value}'; expected {expected}.");
        });
        return option;
    }
}

/// <summary>How the user started Hybrid, for the commands Hybrid prints for them to run next.</summary>
internal static class Invocation
{
    /// <summary>
    /// The command as the user typed it: run.sh sets HYBRID_INVOKED_AS to the path it was called by (./run.sh), so a
    /// printed command can be pasted as it is; otherwise "hybrid".
    /// </summary>
    public static string Name { get; } = Environment.GetEnvironmentVariable("HYBRID_INVOKED_AS") is { Length: > 0 } name && !name.Contains(' ') ? name : "hybrid";
}
