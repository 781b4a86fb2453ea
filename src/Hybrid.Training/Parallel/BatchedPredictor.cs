using System.Diagnostics;

namespace Hybrid.Training.Parallel;

/// <summary>The forward pass a <see cref="BatchedPredictor"/> runs on a batch of inputs.</summary>
internal interface IBatchModel
{
    /// <summary>Floats per input row.</summary>
    int InputSize { get; }

    /// <summary>Floats per output row.</summary>
    int OutputSize { get; }

    /// <summary>Computes <paramref name="rows"/> output rows from as many input rows; returns the parameter version it used.</summary>
    long Predict(ReadOnlySpan<float> inputs, int rows, Span<float> outputs);
}

/// <summary>What a predictor did over an interval (or the whole run).</summary>
internal readonly record struct PredictorStats(long Predictions, long Batches, double MeanBatch, int P50Batch, int P90Batch, int MaxBatch, double MeanWaitMicroseconds)
{
    /// <summary>Nothing happened.</summary>
    public static PredictorStats None => new(0, 0, double.NaN, 0, 0, 0, double.NaN);
}

/// <summary>
/// GA3C's predictor (Babaeizadeh et al. 2017): client threads post a request (their input row) and wait; one predictor
/// thread takes the first waiting request, gathers more until it holds <c>maxBatch</c> or <c>maxWait</c> has passed
/// since it took the first, runs one batched forward pass and answers each client in its own preallocated slot. A
/// client has at most one request in flight, so the request queue never holds more than the clients. Nothing is
/// allocated per request. Counts predictions, batch sizes (a histogram, for percentiles) and how long clients wait
/// (from posting to the answer).
/// </summary>
internal sealed class BatchedPredictor
{
    readonly IBatchModel _model;
    readonly int _clients, _maxBatch;
    readonly long _maxWaitTicks;
    readonly SlotQueue _requests;
    readonly float[] _inputs, _outputs, _batchInputs, _batchOutputs;
    readonly long[] _versions, _posted;
    readonly ManualResetEventSlim[] _answered;
    readonly int[] _batch;
    readonly object _statsGate = new();
    readonly long[] _histogram, _runHistogram;
    long _predictions, _batches, _waitTicks, _runPredictions, _runBatches, _runWaitTicks;
    volatile bool _stopped;

    /// <summary>A predictor for <paramref name="clients"/> clients.</summary>
    /// <exception cref="ArgumentOutOfRangeException">clients or maxBatch below 1, or a negative wait.</exception>
    public BatchedPredictor(IBatchModel model, int clients, int maxBatch, double maxWaitMicroseconds)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentOutOfRangeException.ThrowIfLessThan(clients, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBatch, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(maxWaitMicroseconds);
        (_model, _clients, _maxBatch) = (model, clients, maxBatch);
        _maxWaitTicks = (long)(maxWaitMicroseconds * Stopwatch.Frequency / 1e6);
        _requests = new SlotQueue(clients);
        _inputs = new float[clients * model.InputSize];
        _outputs = new float[clients * model.OutputSize];
        int batch = Math.Min(maxBatch, clients);
        _batchInputs = new float[batch * model.InputSize];
        _batchOutputs = new float[batch * model.OutputSize];
        _batch = new int[batch];
        _versions = new long[clients];
        _posted = new long[clients];
        _answered = new ManualResetEventSlim[clients];
        for (int i = 0; i < clients; i++) _answered[i] = new ManualResetEventSlim(false);
        _histogram = new long[batch + 1];
        _runHistogram = new long[batch + 1];
    }

    /// <summary>
    /// Client <paramref name="client"/>'s prediction for <paramref name="input"/>: posts it, waits for the answer and
    /// returns the output row (valid until the client's next request) and the parameter version that produced it; false
    /// once the predictor has stopped.
    /// </summary>
    public bool Predict(int client, ReadOnlySpan<float> input, out ReadOnlySpan<float> output, out long version)
    {
        output = default;
        version = 0;
        input.CopyTo(_inputs.AsSpan(client * _model.InputSize, _model.InputSize));
        ManualResetEventSlim answered = _answered[client];
        answered.Reset();
        _posted[client] = Stopwatch.GetTimestamp();
        if (_stopped) return false;
        _requests.Add(client);
        // Stop sets every client's event: a client woken then learns the run is over.
        while (!answered.Wait(20))
            if (_stopped) return false;
        if (_stopped) return false;
        output = _outputs.AsSpan(client * _model.OutputSize, _model.OutputSize);
        version = _versions[client];
        return true;
    }

    /// <summary>The predictor thread's loop: batches and answers requests until <paramref name="stopping"/> says so, then releases every client.</summary>
    public void Run(Func<bool> stopping)
    {
        try
        {
            while (!stopping())
            {
                if (!_requests.TryTake(out int first, 20)) continue;
                RunBatch(first);
            }
        }
        finally
        {
            Stop();
        }
    }

    /// <summary>Stops: every waiting client returns false.</summary>
    public void Stop()
    {
        _stopped = true;
        foreach (ManualResetEventSlim e in _answered) e.Set();
    }

    /// <summary>Gathers up to max_batch requests (waiting at most max_wait after the first), predicts and answers them; returns the batch size.</summary>
    int RunBatch(int first)
    {
        int inSize = _model.InputSize, outSize = _model.OutputSize;
        long start = Stopwatch.GetTimestamp();
        int count = 0;
        _batch[count++] = first;
        while (count < _batch.Length)
        {
            if (_requests.TryTake(out int next, 0)) _batch[count++] = next;
            else if (Stopwatch.GetTimestamp() - start >= _maxWaitTicks) break;
            else Thread.SpinWait(20);
        }
        for (int i = 0; i < count; i++) _inputs.AsSpan(_batch[i] * inSize, inSize).CopyTo(_batchInputs.AsSpan(i * inSize, inSize));
        long version = _model.Predict(_batchInputs.AsSpan(0, count * inSize), count, _batchOutputs.AsSpan(0, count * outSize));
        long now = Stopwatch.GetTimestamp(), waited = 0;
        for (int i = 0; i < count; i++)
        {
            int client = _batch[i];
            _batchOutputs.AsSpan(i * outSize, outSize).CopyTo(_outputs.AsSpan(client * outSize, outSize));
            _versions[client] = version;
            waited += now - _posted[client];
        }
        lock (_statsGate)
        {
            _predictions += count;
            _batches++;
            _histogram[count]++;
            _waitTicks += waited;
        }
        for (int i = 0; i < count; i++) _answered[_batch[i]].Set();
        return count;
    }

    /// <summary>The stats since the last call (and adds them to the run's).</summary>
    public PredictorStats TakeInterval()
    {
        lock (_statsGate)
        {
            PredictorStats stats = Stats(_predictions, _batches, _histogram, _waitTicks);
            _runPredictions += _predictions;
            _runBatches += _batches;
            _runWaitTicks += _waitTicks;
            for (int i = 0; i < _histogram.Length; i++) _runHistogram[i] += _histogram[i];
            (_predictions, _batches, _waitTicks) = (0, 0, 0);
            Array.Clear(_histogram);
            return stats;
        }
    }

    /// <summary>The stats of the whole run so far.</summary>
    public PredictorStats Total()
    {
        lock (_statsGate)
        {
            var histogram = new long[_histogram.Length];
            for (int i = 0; i < histogram.Length; i++) histogram[i] = _histogram[i] + _runHistogram[i];
            return Stats(_predictions + _runPredictions, _batches + _runBatches, histogram, _waitTicks + _runWaitTicks);
        }
    }

    static PredictorStats Stats(long predictions, long batches, long[] histogram, long waitTicks)
    {
        if (batches == 0) return PredictorStats.None;
        int max = 0;
        for (int size = histogram.Length - 1; size > 0; size--)
            if (histogram[size] > 0)
            {
                max = size;
                break;
            }
        return new PredictorStats(predictions, batches, (double)predictions / batches, Percentile(histogram, batches, 0.5), Percentile(histogram, batches, 0.9), max,
            waitTicks * 1e6 / Stopwatch.Frequency / predictions);
    }

    /// <summary>The smallest batch size at or below which a fraction <paramref name="q"/> of the batches fall.</summary>
    static int Percentile(long[] histogram, long batches, double q)
    {
        long seen = 0;
        for (int size = 1; size < histogram.Length; size++)
        {
            seen += histogram[size];
            if (seen >= q * batches) return size;
        }
        return histogram.Length - 1;
    }
}
