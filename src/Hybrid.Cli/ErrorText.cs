namespace Hybrid.Cli;

/// <summary>How the command line shows an exception to the user.</summary>
internal static class ErrorText
{
    /// <summary>The message without the "(Parameter 'x')" ArgumentException appends: the message already names what was wrong.</summary>
    public static string Of(Exception e) =>
        e is ArgumentException { ParamName: { } name } ? e.Message.Replace($" (Parameter '{name}')", "") : e.Message;
}
