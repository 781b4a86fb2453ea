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
