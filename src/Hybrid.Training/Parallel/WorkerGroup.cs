using System.Runtime.ExceptionServices;
using Hybrid.Training.Runs;

namespace Hybrid.Training.Parallel;

/// <summary>A worker thread failed; the run was stopped. <see cref="Exception.InnerException"/> is the original, with its stack trace.</summary>
public sealed class WorkerFailedException(string worker, Exception inner)
    : Exception($"{worker} failed: {inner.GetType().Name}: {inner.Message}", inner)
{
    /// <summary>The failed worker, e.g. "a3c worker 3".</summary>
    public string Worker { get; } = worker;
}

/// <summary>A loss or the parameters became NaN or infinite; the message names the update.</summary>
public sealed class TrainingDivergedException(string message) : Exception(message);

/// <summary>
/// The threads of one run. The first exception in any of them sets <see cref="StopRequested"/>, so the others leave
/// their loops, and <see cref="Join"/> rethrows it on the calling thread as a <see cref="WorkerFailedException"/>
/// naming the worker: no thread dies silently and nothing hangs.
/// </summary>
public sealed class WorkerGroup
{
    readonly List<Thread> _threads = [];
    readonly string _name;
    (string Worker, ExceptionDispatchInfo Error)? _fault;
    volatile bool _stop, _faulted;

    /// <summary>A group whose threads are named "<paramref name="name"/> N".</summary>
    public WorkerGroup(string name) => _name = name;

    /// <summary>True once a stop was asked for or a worker failed; workers poll it between steps.</summary>
    public bool StopRequested => _stop;

    /// <summary>True once a worker failed.</summary>
    public bool Faulted => _faulted;

    /// <summary>Asks every worker to finish its current step and return.</summary>
    public void Stop() => _stop = true;

    /// <summary>Starts a worker thread running <paramref name="body"/> with its id.</summary>
    public void Start(string role, int id, Action<int> body)
    {
        ArgumentNullException.ThrowIfNull(body);
        string worker = $"{_name} {role} {id}";
        var thread = new Thread(() =>
        {
            try
            {
                body(id);
            }
            catch (Exception e)
            {
                Fail(worker, e);
            }
        })
        { IsBackground = true, Name = worker };
        _threads.Add(thread);
        thread.Start();
    }

    /// <summary>Records a failure of <paramref name="worker"/> (the first one wins) and stops the group.</summary>
    public void Fail(string worker, Exception error)
    {
        lock (_threads) _fault ??= (worker, ExceptionDispatchInfo.Capture(error));
        _faulted = true;
        _stop = true;
    }

    /// <summary>
    /// The main thread's part of an asynchronous run: write metrics rows while the workers run, stop them when the
    /// run is over, let a server applier drain, and rethrow a worker's failure.
    /// </summary>
    /// <param name="shared">The workers' shared parameters.</param>
    /// <param name="run">The run's context.</param>
    /// <param name="checkpoint">Takes the run's checkpoint when one is due (null: the run keeps none).</param>
    public void Supervise(SharedParameters shared, RunContext run, Func<CheckpointData>? checkpoint = null)
    {
        ArgumentNullException.ThrowIfNull(shared);
        ArgumentNullException.ThrowIfNull(run);
        while (!StopRequested)
        {
            if (run.ShouldStop)
            {
                Stop();
                break;
            }
            run.Metrics.Flush();
            // The workers go on while theta and the statistics are copied: a Hogwild snapshot, as any read of them is.
            if (checkpoint is not null && run.CheckpointDue) run.Checkpoints.Save(checkpoint());
            Thread.Sleep(2);
        }
        shared.Complete();
        Join();
    }

    /// <summary>Waits for every worker, then throws the first failure, if any, as a <see cref="WorkerFailedException"/>.</summary>
    public void Join()
    {
        foreach (Thread t in _threads) t.Join();
        ThrowIfFaulted();
    }

    /// <summary>Throws the first failure, if any.</summary>
    public void ThrowIfFaulted()
    {
        (string Worker, ExceptionDispatchInfo Error)? fault;
        lock (_threads) fault = _fault;
        if (fault is { } f) throw new WorkerFailedException(f.Worker, f.Error.SourceException);
    }
}
