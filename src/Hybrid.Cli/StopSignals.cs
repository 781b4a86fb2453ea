using System.Runtime.InteropServices;

namespace Hybrid.Cli;

/// <summary>
/// Ctrl-C (SIGINT) and SIGTERM for a long command: the first calls <c>stop</c> once with the signal's number (the
/// command finishes the update in progress and exits 128 + it); a second Ctrl-C ends the process at once.
/// </summary>
internal sealed class StopSignals : IDisposable
{
    readonly Action<int> _stop;
    readonly ConsoleCancelEventHandler _onCancel;
    readonly PosixSignalRegistration _terminate;
    int _signal;

    public StopSignals(Action<int> stop)
    {
        _stop = stop;
        _onCancel = (_, e) =>
        {
            if (Volatile.Read(ref _signal) != 0) return; // the second: let it end the process
            e.Cancel = true;
            Stop(2);
        };
        Console.CancelKeyPress += _onCancel;
        _terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context =>
        {
            context.Cancel = true;
            Stop(15);
        });
    }

    /// <summary>The signal that stopped the command (2 or 15), or 0.</summary>
    public int Signal => Volatile.Read(ref _signal);

    void Stop(int number)
    {
        if (Interlocked.CompareExchange(ref _signal, number, 0) == 0) _stop(number);
    }

    public void Dispose()
    {
        Console.CancelKeyPress -= _onCancel;
        _terminate.Dispose();
    }
}
