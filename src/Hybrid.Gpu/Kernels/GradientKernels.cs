using ILGPU;

namespace Hybrid.Gpu.Kernels;

/// <summary>
/// The weight gradient and the optimizer step, shaped for a GPU's memory. A linear layer's gradient is a matrix product
/// over the batch, dW[k, j] = sum_b x_k(b) delta_j(b) (and the bias's, sum_b delta_j(b), as the product with a row of
/// ones); the per-sample rows are stored feature-major, so a row is contiguous over the samples. A block computes one
/// 16 x 16 tile of one layer's gradient over one chunk of samples: it loads 32 samples of its 16 input rows and 16 delta
/// rows into shared memory (adjacent threads read adjacent samples), every thread multiplies two outputs from there,
/// and the tile's partial sums go to the chunk's row of Partial. A second kernel, one block, sums the chunks in chunk order, takes the
/// squared norm as a fixed-order tree and applies the clipped RMSProp step, so a run is repeatable for its seed on a
/// device. Both are written for any power-of-two group size from 4 (ILGPU's CPU accelerator) to 1024.
/// </summary>
public static class GradientKernels
{
    /// <summary>Input rows (the bias's row of ones counted) of a tile.</summary>
    public const int TileRows = 16;
    /// <summary>Outputs of a tile.</summary>
    public const int TileColumns = 16;
    /// <summary>Samples a tile loads at a time.</summary>
    public const int TileSamples = 32;
    /// <summary>Ints per entry of the tile table: parameter offset, inputs, outputs, input row in F, delta row in D, first input, first output.</summary>
    public const int TileEntry = 7;
    /// <summary>The smallest group the kernels take (ILGPU's CPU accelerator runs groups of 4): each thread then owns a quarter of its tile's outputs.</summary>
    public const int MinGroup = 4;
    /// <summary>The largest group the step's tree takes.</summary>
    public const int MaxGroup = 1024;

    const int HalfColumns = TileColumns / 2;
    /// <summary>Pairs of outputs in a tile: a thread's unit of work (columns c and c + HalfColumns of one row).</summary>
    public const int TilePairs = TileRows * HalfColumns;
    const int MaxOwned = 2 * TilePairs / MinGroup;
    // One float of padding per row, so that the 16 threads of a warp reading 16 delta rows at one sample hit 16 banks.
    const int Padded = TileSamples + 1;

    /// <summary>
    /// Partial[chunk, p] for one tile of one layer over one chunk of samples; block = tile + TileCount * chunk. A thread
    /// owns pairs of outputs in one input row, columns c and c + 8, so each input it loads serves two multiply-adds.
    /// </summary>
    [Kernel]
    public static void Tiles(LearnViews v)
    {
        ArrayView<float> xs = SharedMemory.Allocate<float>(TileRows * Padded);
        ArrayView<float> ds = SharedMemory.Allocate<float>(TileColumns * Padded);
        ArrayView<float> owned = LocalMemory.Allocate<float>(MaxOwned);
        int group = Group.DimX, thread = Group.IdxX, tile = Grid.IdxX % v.TileCount, chunk = Grid.IdxX / v.TileCount;
        int t = tile * TileEntry;
        int offset = v.Tiles[t], inputs = v.Tiles[t + 1], outputs = v.Tiles[t + 2], inRow = v.Tiles[t + 3], dRow = v.Tiles[t + 4];
        int k0 = v.Tiles[t + 5], j0 = v.Tiles[t + 6];
        int samples = v.Samples, start = chunk * v.Chunk, end = start + v.Chunk < samples ? start + v.Chunk : samples;
        int mine = (TilePairs + group - 1) / group;
        for (int q = 0; q < 2 * mine; q++) owned[q] = 0f;
        for (int b0 = start; b0 < end; b0 += TileSamples)
        {
            for (int e = thread; e < TileRows * TileSamples; e += group)
            {
                int r = e / TileSamples, s = e - r * TileSamples, k = k0 + r, j = j0 + r, b = b0 + s;
                bool inside = b < end;
                xs[r * Padded + s] = !inside || k > inputs ? 0f : k == inputs ? 1f : v.Features[(inRow + k) * samples + b];
                ds[r * Padded + s] = inside && j < outputs ? v.Deltas[(dRow + j) * samples + b] : 0f;
            }
            Group.Barrier();
            for (int q = 0; q < mine; q++)
            {
                int o = thread + q * group;
                if (o >= TilePairs) break;
                int r = o / HalfColumns, c = o - r * HalfColumns;
                float sum = owned[2 * q], other = owned[2 * q + 1];
                for (int s = 0; s < TileSamples; s++)
                {
                    float x = xs[r * Padded + s];
                    sum = DeviceMath.Fma(x, ds[c * Padded + s], sum);
                    other = DeviceMath.Fma(x, ds[(c + HalfColumns) * Padded + s], other);
                }
                owned[2 * q] = sum;
                owned[2 * q + 1] = other;
            }
            Group.Barrier();
        }
        for (int q = 0; q < 2 * mine; q++)
        {
            int o = thread + q / 2 * group;
            if (o >= TilePairs) break;
            int r = o / HalfColumns, c = o - r * HalfColumns + q % 2 * HalfColumns, k = k0 + r, j = j0 + c;
            if (k > inputs || j >= outputs) continue;
            v.Partial[chunk * v.Parameters + offset + (k < inputs ? k * outputs + j : inputs * outputs + j)] = owned[q];
        }
    }

    /// <summary>
    /// What <see cref="Tiles"/> computes, a thread per (weight, chunk) with no shared memory and no barrier, for ILGPU's
    /// CPU accelerator (where a group's barrier costs an OS thread switch): each thread multiplies its input row by its
    /// delta row over the chunk's samples, in sample order with the same fused multiply-adds, so its partial is the
    /// tile's, bit for bit (a tile also adds the zero products of the samples past a chunk's end, which can turn a
    /// sum of -0 into +0 and nothing else). The tiles walk the table as <see cref="Tiles"/> does; thread i of a
    /// chunk takes the i-th (tile, row, column) in that order.
    /// </summary>
    public static void Flat(Index1D index, int stride, LearnViews v)
    {
        int perTile = TileRows * TileColumns, total = v.TileCount * perTile * v.Chunks, samples = v.Samples;
        for (int i = index; i < total; i += stride)
        {
            int chunk = i / (v.TileCount * perTile), rest = i - chunk * v.TileCount * perTile, tile = rest / perTile, cell = rest - tile * perTile;
            int t = tile * TileEntry, r = cell / TileColumns, c = cell - r * TileColumns;
            int offset = v.Tiles[t], inputs = v.Tiles[t + 1], outputs = v.Tiles[t + 2], inRow = v.Tiles[t + 3], dRow = v.Tiles[t + 4];
            int k = v.Tiles[t + 5] + r, j = v.Tiles[t + 6] + c;
            if (k > inputs || j >= outputs) continue;
            int start = chunk * v.Chunk, end = start + v.Chunk < samples ? start + v.Chunk : samples;
            float sum = 0f;
            if (k == inputs)
                for (int b = start; b < end; b++) sum = DeviceMath.Fma(1f, v.Deltas[(dRow + j) * samples + b], sum);
            else
                for (int b = start; b < end; b++) sum = DeviceMath.Fma(v.Features[(inRow + k) * samples + b], v.Deltas[(dRow + j) * samples + b], sum);
            v.Partial[chunk * v.Parameters + offset + (k < inputs ? k * outputs + j : inputs * outputs + j)] = sum;
        }
    }

    /// <summary>
    /// One block: the gradient as the chunks' partial sums in chunk order, its squared norm into scalars[0] (each
    /// thread's parameters in order, then a tree over the threads); with <paramref name="step"/> non-zero, global-norm
    /// clipping (GradientTools.ClipScale: maxNorm / (norm + 1e-6) above maxNorm) and the RMSProp step with eps inside the
    /// square root (OptimizerKernels.RmsPropStep).
    /// </summary>
    [Kernel]
    public static void Reduce(LearnViews v, ArrayView<float> scalars, float maxNorm, float learningRate, float alpha, float epsilon, int step)
    {
        ArrayView<float> sums = SharedMemory.Allocate<float>(MaxGroup);
        int group = Group.DimX, thread = Group.IdxX, parameters = v.Parameters;
        float squares = 0f;
        for (int p = thread; p < parameters; p += group)
        {
            float g = 0f;
            for (int c = 0; c < v.Chunks; c++) g += v.Partial[c * parameters + p];
            v.Gradient[p] = g;
            squares += g * g;
        }
        sums[thread] = squares;
        Group.Barrier();
        for (int width = group / 2; width > 0; width /= 2)
        {
            if (thread < width) sums[thread] += sums[thread + width];
            Group.Barrier();
        }
        float squared = sums[0];
        if (thread == 0) scalars[0] = squared;
        if (step == 0) return;
        float norm = MathF.Sqrt(squared);
        float scale = maxNorm > 0f && norm > maxNorm ? maxNorm / (norm + 1e-6f) : 1f;
        for (int p = thread; p < parameters; p += group)
        {
            float g = v.Gradient[p] * scale;
            float ms = alpha * v.Statistics[p] + (1f - alpha) * (g * g);
            v.Statistics[p] = ms;
            v.Net.Theta[p] -= learningRate * g / MathF.Sqrt(ms + epsilon);
        }
    }

    /// <summary>
    /// The tile table for a network's layer table (see <see cref="NetShape"/>): every linear layer's gradient, bias row
    /// included, cut into TileRows x TileColumns tiles; a Gaussian head's log-stds as a layer with no inputs (only the row
    /// of ones) whose deltas are the log-std rows.
    /// </summary>
    public static int[] TileTable(int[] layers, int logStdOffset, int logStdRow, int logStds)
    {
        var table = new List<int>();
        void Add(int offset, int inputs, int outputs, int inRow, int dRow)
        {
            for (int k0 = 0; k0 <= inputs; k0 += TileRows)
                for (int j0 = 0; j0 < outputs; j0 += TileColumns) table.AddRange([offset, inputs, outputs, inRow, dRow, k0, j0]);
        }
        for (int l = 0; l < layers.Length / NetShape.Entry; l++)
        {
            int e = l * NetShape.Entry;
            Add(layers[e], layers[e + 1], layers[e + 2], layers[e + 3], layers[e + 5]);
        }
        if (logStds > 0) Add(logStdOffset, 0, logStds, 0, logStdRow);
        return [.. table];
    }

    /// <summary>
    /// Samples per chunk for a batch: a multiple of TileSamples, about 64 chunks (enough blocks to fill a GPU with a
    /// network's tiles), between 256 and 4,096. A function of the batch alone, so the sums' order is the same on every device.
    /// </summary>
    public static int ChunkFor(int samples) => Math.Clamp((samples / 64 + TileSamples - 1) / TileSamples * TileSamples, 256, 4096);
}
