using System.CommandLine;

namespace Hybrid.Cli.Bench;

/// <summary>What every <c>hybrid bench</c> command shares: option checks, medians and the JSON-or-table report.</summary>
static class BenchReport
{
    /// <summary>Makes <paramref name="option"/> reject values below 1 with a message naming it and the value.</summary>
    public static Option<int> AtLeastOne(this Option<int> option)
    {
        option.Validators.Add(r =>
        {
            int value = r.GetValueOrDefault<int>();
            if (value < 1) r.AddError($"{option.Name} was {value}; expected at least 1.");
        });
        return option;
    }

    /// <summary>The median of <paramref name="values"/> (sorted in place); benchmarks report medians of timed blocks.</summary>
    public static double Median(double[] values)
    {
        Array.Sort(values);
        int n = values.Length;
        return n % 2 == 1 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
    }

    /// <summary>
    /// With <paramref name="json"/>, one JSON line of the measurement; otherwise the measurement and its same-run
    /// baseline as a table, with a progress line on standard error first. Returns the exit code.
    /// </summary>
    public static int Print<T>(bool json, string progress, Func<T> measure, Func<T> baseline, Func<T, string> toJson, Func<T, T, string> toTable)
    {
        if (json)
        {
            Console.WriteLine(toJson(measure()));
            return 0;
        }
        Console.Error.WriteLine(progress);
        T result = measure();
        Console.WriteLine(toTable(result, baseline()));
        return 0;
    }
}
