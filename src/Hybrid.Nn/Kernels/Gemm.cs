using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Hybrid.Threading;

namespace Hybrid.Nn.Kernels;

/// <summary>Which implementation <see cref="Gemm"/> uses. <see cref="Auto"/> picks the widest the CPU accelerates.</summary>
public enum GemmPath
{
    /// <summary>Vector512 if accelerated, else Vector256, else scalar.</summary>
    Auto,
    /// <summary>The plain triple loop: the test oracle and the fallback.</summary>
    Scalar,
    /// <summary>6 x 16 register tile on Vector256.</summary>
    Vector256,
    /// <summary>8 x 32 register tile on Vector512.</summary>
    Vector512,
}

/// <summary>
/// Blocked, register-tiled single-precision matrix multiply, C = A B (or C += A B), in the style of
/// BLIS (Van Zee and van de Geijn 2015): K is cut into blocks of <see cref="KBlock"/> and a micro-kernel keeps
/// an MR x NR tile of C in registers while it streams a K block of A (broadcast, any strides) and of B
/// (NR-wide rows). The matrices of small networks fit in L1/L2, so A is never packed; B is packed into
/// zero-padded panels only when its rows are not contiguous or the last panel is ragged.
/// Vector512 tile: 8 x 32 (16 accumulators). Vector256 tile: 6 x 16 (12 accumulators, 16 ymm registers).
/// </summary>
/// <remarks>
/// Operands are described by strides, so a transposed operand needs no copy, except a transposed B, which is packed:
/// element (i, p) of A is <c>a[i * aRowStride + p * aColStride]</c>. Concurrent calls from different threads
/// are safe: the packing buffers are per thread.
/// </remarks>
public static class Gemm
{
    /// <summary>Depth of one packed block of the K dimension.</summary>
    public const int KBlock = 256;

    // Per-thread work buffers: grown on first use, then reused, so steady-state calls allocate nothing.
    [ThreadStatic] static float[]? t_scratch;
    [ThreadStatic] static float[]? t_packedB;
    [ThreadStatic] static float[]? t_packedA;

    /// <summary>The path that uses vectors no wider than <paramref name="width"/>.</summary>
    public static GemmPath PathFor(SimdWidth width) => Simd.Clamp(width) switch
    {
        SimdWidth.Vector512 => GemmPath.Vector512,
        SimdWidth.Vector256 => GemmPath.Vector256,
        _ => GemmPath.Scalar,
    };

    /// <summary>
    /// C = A B, or C += A B when <paramref name="accumulate"/>, for row-major matrices:
    /// A is [m, k] (or [k, m] stored, when <paramref name="transposeA"/>), B is [k, n]
    /// (or [n, k] stored, when <paramref name="transposeB"/>), C is [m, n].
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A dimension is negative.</exception>
    /// <exception cref="ArgumentException">A span is shorter than its matrix.</exception>
    public static void Multiply(ReadOnlySpan<float> a, bool transposeA, ReadOnlySpan<float> b, bool transposeB,
        Span<float> c, int m, int n, int k, bool accumulate, GemmPath path = GemmPath.Auto, int threads = 1)
    {
        Multiply(m, n, k,
            a, transposeA ? 1 : k, transposeA ? m : 1,
            b, transposeB ? 1 : n, transposeB ? k : 1,
            c, n, 1, accumulate, path, threads);
    }

    /// <summary>
    /// C(i, j) = [C(i, j) +] sum_p A(i, p) B(p, j) with A(i, p) = a[i * aRowStride + p * aColStride],
    /// B(p, j) = b[p * bRowStride + j * bColStride], C(i, j) = c[i * cRowStride + j * cColStride].
    /// </summary>
    /// <remarks>
    /// With <paramref name="threads"/> &gt; 1, a product of at least <see cref="ParallelMinimumWork"/> multiply-adds
    /// is cut into row blocks run on that many cores (the caller's thread and persistent workers); every element
    /// is computed exactly as on one thread, so the result does not depend on the thread count.
    /// </remarks>
    /// <exception cref="ArgumentOutOfRangeException">A dimension or stride is negative, or threads is not positive.</exception>
    /// <exception cref="ArgumentException">A span is shorter than its matrix.</exception>
    public static void Multiply(int m, int n, int k,
        ReadOnlySpan<float> a, int aRowStride, int aColStride,
        ReadOnlySpan<float> b, int bRowStride, int bColStride,
        Span<float> c, int cRowStride, int cColStride, bool accumulate, GemmPath path = GemmPath.Auto, int threads = 1)
    {
        Guard.Positive(threads, nameof(threads));
        Guard.NonNegative(m, nameof(m));
        Guard.NonNegative(n, nameof(n));
        Guard.NonNegative(k, nameof(k));
        Guard.NonNegative(aRowStride, nameof(aRowStride));
        Guard.NonNegative(aColStride, nameof(aColStride));
        Guard.NonNegative(bRowStride, nameof(bRowStride));
        Guard.NonNegative(bColStride, nameof(bColStride));
        Guard.NonNegative(cRowStride, nameof(cRowStride));
        Guard.NonNegative(cColStride, nameof(cColStride));
        if (m == 0 || n == 0) return;
        Guard.Covers(c, m, n, cRowStride, cColStride, nameof(c));
        if (k == 0)
        {
            if (!accumulate) Zero(c, m, n, cRowStride, cColStride);
            return;
        }
        Guard.Covers(a, m, k, aRowStride, aColStride, nameof(a));
        Guard.Covers(b, k, n, bRowStride, bColStride, nameof(b));

        if (path == GemmPath.Auto)
            path = Vector512.IsHardwareAccelerated ? GemmPath.Vector512
                : Vector256.IsHardwareAccelerated ? GemmPath.Vector256 : GemmPath.Scalar;

        // The tile is wide in N: when N is narrower than a vector and M is not, compute C^T = B^T A^T instead,
        // so the long dimension fills the vectors; only when A's columns are contiguous, because they become
        // B's rows, and a B with strided rows would need packing (an M x K copy) that costs more than it saves.
        if (path != GemmPath.Scalar && n < 16 && m > n && aRowStride == 1)
        {
            (m, n) = (n, m);
            ReadOnlySpan<float> swap = a;
            a = b;
            b = swap;
            (aRowStride, aColStride, bRowStride, bColStride) = (bColStride, bRowStride, aColStride, aRowStride);
            (cRowStride, cColStride) = (cColStride, cRowStride);
        }

        // A few outputs per row, or a few rows against a B whose columns are contiguous (B^T of a row-major matrix: an
        // LSTM's or a layer's backward pass for one or a few lanes): each C(i, j) is one dot product of contiguous runs,
        // where the blocked kernel would gather B's strided columns into panels first.
        if (path != GemmPath.Scalar && aColStride == 1 && k >= 16 && (n <= 4 || (bRowStride == 1 && m <= 8)))
        {
            NarrowN(m, n, k, a, aRowStride, b, bRowStride, bColStride, c, cRowStride, cColStride, accumulate);
            return;
        }

        if (threads > 1 && path != GemmPath.Scalar && (long)m * n * k >= ParallelMinimumWork && m >= 2 * TileRows(path)
            && SplitRows(m, n, k, a, aRowStride, aColStride, b, bRowStride, bColStride, c, cRowStride, cColStride, accumulate, path, threads))
            return;

        Dispatch(m, n, k, a, aRowStride, aColStride, b, bRowStride, bColStride, c, cRowStride, cColStride, accumulate, path);
    }

    static void Dispatch(int m, int n, int k,
        ReadOnlySpan<float> a, int aRowStride, int aColStride,
        ReadOnlySpan<float> b, int bRowStride, int bColStride,
        Span<float> c, int cRowStride, int cColStride, bool accumulate, GemmPath path)
    {
        switch (path)
        {
            case GemmPath.Vector512 when Vector512.IsHardwareAccelerated:
                Blocked<Tile512>(m, n, k, a, aRowStride, aColStride, b, bRowStride, bColStride, c, cRowStride, cColStride, accumulate);
                break;
            case GemmPath.Vector256 when Vector256.IsHardwareAccelerated:
            case GemmPath.Vector512 when Vector256.IsHardwareAccelerated:
                Blocked<Tile256>(m, n, k, a, aRowStride, aColStride, b, bRowStride, bColStride, c, cRowStride, cColStride, accumulate);
                break;
            default:
                Reference(m, n, k, a, aRowStride, aColStride, b, bRowStride, bColStride, c, cRowStride, cColStride, accumulate);
                break;
        }
    }

    /// <summary>
    /// Below this many multiply-adds a call runs on one thread: waking the workers costs microseconds, and a
    /// 1024 x 64 x 64 product (4.2 M) takes about 100 us on one core.
    /// </summary>
    public const long ParallelMinimumWork = 1L << 21;

    // Parts start on a multiple of the tile height, so only the last part has a ragged tile.
    static int TileRows(GemmPath path) => path == GemmPath.Vector512 && Vector512.IsHardwareAccelerated ? Tile512.MR : Tile256.MR;

    [ThreadStatic] static GemmJob? t_job;

    /// <summary>Cuts C into row blocks run by <see cref="RowSplitter"/>; each C element is computed as on one thread.</summary>
    static unsafe bool SplitRows(int m, int n, int k,
        ReadOnlySpan<float> a, int aRowStride, int aColStride,
        ReadOnlySpan<float> b, int bRowStride, int bColStride,
        Span<float> c, int cRowStride, int cColStride, bool accumulate, GemmPath path, int threads)
    {
        GemmJob job = t_job ??= new GemmJob();
        fixed (float* pa = a, pb = b, pc = c)
        {
            job.Set(m, n, k, pa, a.Length, aRowStride, aColStride, pb, b.Length, bRowStride, bColStride,
                pc, c.Length, cRowStride, cColStride, accumulate, path);
            int parts = Math.Min(threads, (m + TileRows(path) - 1) / TileRows(path));
            bool ran = RowSplitter.Kernels.TryRun(job, parts);
            job.Clear();
            return ran;
        }
    }

    /// <summary>The arguments of one split call, as pointers pinned by the caller for the call's duration.</summary>
    sealed unsafe class GemmJob : IRowJob
    {
        int _m, _n, _k, _aLength, _aRow, _aCol, _bLength, _bRow, _bCol, _cLength, _cRow, _cCol;
        float* _a, _b, _c;
        bool _accumulate;
        GemmPath _path;

        public void Set(int m, int n, int k, float* a, int aLength, int aRow, int aCol, float* b, int bLength, int bRow, int bCol,
            float* c, int cLength, int cRow, int cCol, bool accumulate, GemmPath path)
        {
            (_m, _n, _k, _aLength, _aRow, _aCol, _bLength, _bRow, _bCol) = (m, n, k, aLength, aRow, aCol, bLength, bRow, bCol);
            (_cLength, _cRow, _cCol, _accumulate, _path) = (cLength, cRow, cCol, accumulate, path);
            _a = a;
            _b = b;
            _c = c;
        }

        public void Clear()
        {
            _a = null;
            _b = null;
            _c = null;
        }

        public void Execute(int part, int parts)
        {
            int quantum = TileRows(_path);
            int perPart = (_m + parts - 1) / parts;
            perPart = (perPart + quantum - 1) / quantum * quantum;
            int i0 = part * perPart, i1 = Math.Min(_m, i0 + perPart);
            if (i0 >= i1) return;
            var a = new ReadOnlySpan<float>(_a, _aLength)[(i0 * _aRow)..];
            var c = new Span<float>(_c, _cLength)[(i0 * _cRow)..];
            Dispatch(i1 - i0, _n, _k, a, _aRow, _aCol, new ReadOnlySpan<float>(_b, _bLength), _bRow, _bCol, c, _cRow, _cCol, _accumulate, _path);
        }
    }

    /// <summary>The scalar triple loop: fallback and oracle.</summary>
    internal static void Reference(int m, int n, int k,
        ReadOnlySpan<float> a, int aRowStride, int aColStride,
        ReadOnlySpan<float> b, int bRowStride, int bColStride,
        Span<float> c, int cRowStride, int cColStride, bool accumulate)
    {
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                float sum = 0;
                for (int p = 0; p < k; p++)
                    sum += a[i * aRowStride + p * aColStride] * b[p * bRowStride + j * bColStride];
                ref float cij = ref c[i * cRowStride + j * cColStride];
                cij = accumulate ? cij + sum : sum;
            }
    }

    static void Zero(Span<float> c, int m, int n, int cRowStride, int cColStride)
    {
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
                c[i * cRowStride + j * cColStride] = 0;
    }

    /// <summary>A register tile: its shape and its micro-kernel. Static abstract, so the blocked loop specializes per tile.</summary>
    interface ITile
    {
        static abstract int MR { get; }
        static abstract int NR { get; }

        /// <summary>
        /// The MR x NR tile of sum_p A(r, p) B(p, j) over kc steps, written (or added, when <paramref name="add"/>) into C.
        /// A(r, p) = a[r * aRow + p * aCol] (read by scalar broadcast, so any strides are fine);
        /// B(p, j) = b[p * ldb + j], rows NR wide and contiguous; C(r, j) = c[r * ldc + j].
        /// </summary>
        static abstract unsafe void Kernel(int kc, float* a, nint aRow, nint aCol, float* b, nint ldb, float* c, nint ldc, bool add);

        /// <summary>One row of the same product, written to <paramref name="c"/> (NR values).</summary>
        static abstract unsafe void KernelRow(int kc, float* a, nint aCol, float* b, nint ldb, float* c);
    }

    static unsafe void Blocked<TTile>(int m, int n, int k,
        ReadOnlySpan<float> a, int aRowStride, int aColStride,
        ReadOnlySpan<float> b, int bRowStride, int bColStride,
        Span<float> c, int cRowStride, int cColStride, bool accumulate) where TTile : ITile
    {
        int mr = TTile.MR, nr = TTile.NR;
        int nPanels = (n + nr - 1) / nr;
        int kcMax = Math.Min(k, KBlock);
        // A is read in place. B is read in place when its rows are contiguous and whole panels wide; otherwise
        // (a transposed B, or a ragged last panel) it is packed per K block into zero-padded panels.
        bool packB = bColStride != 1 || n % nr != 0;
        float[]? packedB = packB ? Rent(ref t_packedB, nPanels * nr * kcMax) : null;
        float[] scratchTile = Rent(ref t_scratch, mr * nr);
        // A last tile of two or more rows (but fewer than MR) is copied into zero-padded MR rows, so that the whole tile
        // kernel reads each B panel once rather than once per row: a batch of 4 lanes through a 1024 x 128 layer read
        // its weights four times over and took longer than a batch of 8.
        int mTail = m % mr;
        float[]? packedATile = mTail >= 2 ? Rent(ref t_packedA, mr * kcMax) : null;
        bool contiguousC = cColStride == 1;

        fixed (float* pa = a, pbIn = b, pc = c, pbPacked = packedB, scratch = scratchTile, paPacked = packedATile)
        {
            for (int p0 = 0; p0 < k; p0 += KBlock)
            {
                int kc = Math.Min(KBlock, k - p0);
                bool add = accumulate || p0 > 0;
                if (packB) PackB(b, bRowStride, bColStride, p0, kc, n, nr, packedB!);
                for (int jp = 0; jp < nPanels; jp++)
                {
                    int j = jp * nr;
                    int nValid = Math.Min(nr, n - j);
                    float* panelB;
                    nint ldb;
                    if (packB)
                    {
                        panelB = pbPacked + (long)jp * kc * nr;
                        ldb = nr;
                    }
                    else
                    {
                        panelB = pbIn + (long)p0 * bRowStride + j;
                        ldb = bRowStride;
                    }
                    for (int i = 0; i < m; i += mr)
                    {
                        int mValid = Math.Min(mr, m - i);
                        float* tileA = pa + (long)i * aRowStride + (long)p0 * aColStride;
                        if (mValid == mr)
                        {
                            if (contiguousC && nValid == nr)
                            {
                                TTile.Kernel(kc, tileA, aRowStride, aColStride, panelB, ldb, pc + (long)i * cRowStride + j, cRowStride, add);
                                continue;
                            }
                            TTile.Kernel(kc, tileA, aRowStride, aColStride, panelB, ldb, scratch, nr, add: false);
                        }
                        else if (mValid >= 2)
                        {
                            // Fewer rows than the tile: copied into the zero-padded tile (once per K block), then one pass over B.
                            if (jp == 0) PackA(tileA, aRowStride, aColStride, mValid, kc, mr, paPacked);
                            TTile.Kernel(kc, paPacked, kc, 1, panelB, ldb, scratch, nr, add: false);
                        }
                        else
                        {
                            // One row: the row kernel, rather than computing padding rows.
                            TTile.KernelRow(kc, tileA, aColStride, panelB, ldb, scratch);
                        }
                        WriteBack(scratch, nr, pc + (long)i * cRowStride + (long)j * cColStride, cRowStride, cColStride, mValid, nValid, add);
                    }
                }
            }
        }
    }

    /// <summary>Copies <paramref name="rows"/> rows of A's K block (kc values each, any strides) into <paramref name="mr"/> contiguous rows, the rest zero.</summary>
    static unsafe void PackA(float* a, nint aRowStride, nint aColStride, int rows, int kc, int mr, float* packed)
    {
        for (int r = 0; r < mr; r++)
        {
            float* row = packed + (long)r * kc;
            if (r >= rows)
            {
                new Span<float>(row, kc).Clear();
                continue;
            }
            float* source = a + r * aRowStride;
            if (aColStride == 1) new ReadOnlySpan<float>(source, kc).CopyTo(new Span<float>(row, kc));
            else
                for (int p = 0; p < kc; p++) row[p] = source[p * aColStride];
        }
    }

    static unsafe void WriteBack(float* scratch, int nr, float* c, nint cRowStride, nint cColStride, int rows, int cols, bool add)
    {
        for (int ii = 0; ii < rows; ii++)
        {
            float* row = c + ii * cRowStride;
            float* s = scratch + ii * nr;
            if (add)
                for (int jj = 0; jj < cols; jj++) row[jj * cColStride] += s[jj];
            else
                for (int jj = 0; jj < cols; jj++) row[jj * cColStride] = s[jj];
        }
    }

    /// <summary>
    /// C (+)= A B for N of a few columns, or M of a few rows and B with contiguous columns, A with contiguous rows: each
    /// element is one dot product of a row of A with a column of B (packed contiguous where it is not), instead of a
    /// register tile that would be mostly padding or a panel gathered from strided columns.
    /// </summary>
    static void NarrowN(int m, int n, int k, ReadOnlySpan<float> a, int aRowStride,
        ReadOnlySpan<float> b, int bRowStride, int bColStride, Span<float> c, int cRowStride, int cColStride, bool accumulate)
    {
        // B's columns as contiguous runs: as they are where B^T is row-major, else packed.
        ReadOnlySpan<float> columns = b;
        int columnStride = bColStride;
        if (bRowStride != 1)
        {
            float[] packed = Rent(ref t_packedB, n * k);
            for (int j = 0; j < n; j++)
                for (int p = 0; p < k; p++)
                    packed[j * k + p] = b[p * bRowStride + j * bColStride];
            columns = packed;
            columnStride = k;
        }
        for (int i = 0; i < m; i++)
        {
            ReadOnlySpan<float> row = a.Slice(i * aRowStride, k);
            for (int j = 0; j < n; j++)
            {
                float dot = TensorPrimitives.Dot(row, columns.Slice(j * columnStride, k));
                ref float cij = ref c[i * cRowStride + j * cColStride];
                cij = accumulate ? cij + dot : dot;
            }
        }
    }

    static float[] Rent(ref float[]? buffer, int length)
    {
        if (buffer is null || buffer.Length < length)
            buffer = new float[Math.Max(length, buffer is null ? 0 : buffer.Length * 2)];
        return buffer;
    }

    // packedB[jp][p][jj] = B(p0 + p, jp * nr + jj), zero past n.
    static void PackB(ReadOnlySpan<float> b, int bRowStride, int bColStride, int p0, int kc, int n, int nr, float[] packedB)
    {
        int nPanels = (n + nr - 1) / nr;
        ref float src = ref MemoryMarshal.GetReference(b);
        for (int jp = 0; jp < nPanels; jp++)
        {
            int j0 = jp * nr;
            int nValid = Math.Min(nr, n - j0);
            Span<float> panel = packedB.AsSpan(jp * kc * nr, kc * nr);
            for (int p = 0; p < kc; p++)
            {
                Span<float> dst = panel.Slice(p * nr, nr);
                nint rowBase = (nint)(p0 + p) * bRowStride + (nint)j0 * bColStride;
                if (bColStride == 1)
                    MemoryMarshal.CreateReadOnlySpan(ref Unsafe.Add(ref src, rowBase), nValid).CopyTo(dst);
                else
                    for (int jj = 0; jj < nValid; jj++) dst[jj] = Unsafe.Add(ref src, rowBase + (nint)jj * bColStride);
                dst.Slice(nValid).Clear();
            }
        }
    }

    readonly struct Tile512 : ITile
    {
        public static int MR => 8;
        public static int NR => 32;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public static unsafe void Kernel(int kc, float* a, nint aRow, nint aCol, float* pb, nint ldb, float* c, nint ldc, bool add)
        {
            nint r1 = aRow, r2 = 2 * aRow, r3 = 3 * aRow, r4 = 4 * aRow, r5 = 5 * aRow, r6 = 6 * aRow, r7 = 7 * aRow;
            Vector512<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default, c30 = default, c31 = default;
            Vector512<float> c40 = default, c41 = default, c50 = default, c51 = default, c60 = default, c61 = default, c70 = default, c71 = default;
            for (int p = 0; p < kc; p++, a += aCol, pb += ldb)
            {
                Vector512<float> b0 = Vector512.Load(pb), b1 = Vector512.Load(pb + 16);
                Vector512<float> x = Vector512.Create(a[0]);
                c00 = Vector512.FusedMultiplyAdd(x, b0, c00); c01 = Vector512.FusedMultiplyAdd(x, b1, c01);
                x = Vector512.Create(a[r1]);
                c10 = Vector512.FusedMultiplyAdd(x, b0, c10); c11 = Vector512.FusedMultiplyAdd(x, b1, c11);
                x = Vector512.Create(a[r2]);
                c20 = Vector512.FusedMultiplyAdd(x, b0, c20); c21 = Vector512.FusedMultiplyAdd(x, b1, c21);
                x = Vector512.Create(a[r3]);
                c30 = Vector512.FusedMultiplyAdd(x, b0, c30); c31 = Vector512.FusedMultiplyAdd(x, b1, c31);
                x = Vector512.Create(a[r4]);
                c40 = Vector512.FusedMultiplyAdd(x, b0, c40); c41 = Vector512.FusedMultiplyAdd(x, b1, c41);
                x = Vector512.Create(a[r5]);
                c50 = Vector512.FusedMultiplyAdd(x, b0, c50); c51 = Vector512.FusedMultiplyAdd(x, b1, c51);
                x = Vector512.Create(a[r6]);
                c60 = Vector512.FusedMultiplyAdd(x, b0, c60); c61 = Vector512.FusedMultiplyAdd(x, b1, c61);
                x = Vector512.Create(a[r7]);
                c70 = Vector512.FusedMultiplyAdd(x, b0, c70); c71 = Vector512.FusedMultiplyAdd(x, b1, c71);
            }
            Store(c, c00, c01, add); c += ldc;
            Store(c, c10, c11, add); c += ldc;
            Store(c, c20, c21, add); c += ldc;
            Store(c, c30, c31, add); c += ldc;
            Store(c, c40, c41, add); c += ldc;
            Store(c, c50, c51, add); c += ldc;
            Store(c, c60, c61, add); c += ldc;
            Store(c, c70, c71, add);
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public static unsafe void KernelRow(int kc, float* a, nint aCol, float* b, nint ldb, float* c)
        {
            // Two sets of accumulators over alternate p, so consecutive FMAs do not wait on each other.
            Vector512<float> c0 = default, c1 = default, d0 = default, d1 = default;
            int p = 0;
            for (; p + 1 < kc; p += 2, a += 2 * aCol, b += 2 * ldb)
            {
                Vector512<float> x = Vector512.Create(a[0]), y = Vector512.Create(a[aCol]);
                c0 = Vector512.FusedMultiplyAdd(x, Vector512.Load(b), c0);
                c1 = Vector512.FusedMultiplyAdd(x, Vector512.Load(b + 16), c1);
                d0 = Vector512.FusedMultiplyAdd(y, Vector512.Load(b + ldb), d0);
                d1 = Vector512.FusedMultiplyAdd(y, Vector512.Load(b + ldb + 16), d1);
            }
            if (p < kc)
            {
                Vector512<float> x = Vector512.Create(a[0]);
                c0 = Vector512.FusedMultiplyAdd(x, Vector512.Load(b), c0);
                c1 = Vector512.FusedMultiplyAdd(x, Vector512.Load(b + 16), c1);
            }
            (c0 + d0).Store(c);
            (c1 + d1).Store(c + 16);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        static unsafe void Store(float* c, Vector512<float> v0, Vector512<float> v1, bool add)
        {
            if (add)
            {
                v0 += Vector512.Load(c);
                v1 += Vector512.Load(c + 16);
            }
            v0.Store(c);
            v1.Store(c + 16);
        }
    }

    readonly struct Tile256 : ITile
    {
        public static int MR => 6;
        public static int NR => 16;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public static unsafe void Kernel(int kc, float* a, nint aRow, nint aCol, float* pb, nint ldb, float* c, nint ldc, bool add)
        {
            nint r1 = aRow, r2 = 2 * aRow, r3 = 3 * aRow, r4 = 4 * aRow, r5 = 5 * aRow;
            Vector256<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
            Vector256<float> c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
            for (int p = 0; p < kc; p++, a += aCol, pb += ldb)
            {
                Vector256<float> b0 = Vector256.Load(pb), b1 = Vector256.Load(pb + 8);
                Vector256<float> x = Vector256.Create(a[0]);
                c00 = Vector256.FusedMultiplyAdd(x, b0, c00); c01 = Vector256.FusedMultiplyAdd(x, b1, c01);
                x = Vector256.Create(a[r1]);
                c10 = Vector256.FusedMultiplyAdd(x, b0, c10); c11 = Vector256.FusedMultiplyAdd(x, b1, c11);
                x = Vector256.Create(a[r2]);
                c20 = Vector256.FusedMultiplyAdd(x, b0, c20); c21 = Vector256.FusedMultiplyAdd(x, b1, c21);
                x = Vector256.Create(a[r3]);
                c30 = Vector256.FusedMultiplyAdd(x, b0, c30); c31 = Vector256.FusedMultiplyAdd(x, b1, c31);
                x = Vector256.Create(a[r4]);
                c40 = Vector256.FusedMultiplyAdd(x, b0, c40); c41 = Vector256.FusedMultiplyAdd(x, b1, c41);
                x = Vector256.Create(a[r5]);
                c50 = Vector256.FusedMultiplyAdd(x, b0, c50); c51 = Vector256.FusedMultiplyAdd(x, b1, c51);
            }
            Store(c, c00, c01, add); c += ldc;
            Store(c, c10, c11, add); c += ldc;
            Store(c, c20, c21, add); c += ldc;
            Store(c, c30, c31, add); c += ldc;
            Store(c, c40, c41, add); c += ldc;
            Store(c, c50, c51, add);
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public static unsafe void KernelRow(int kc, float* a, nint aCol, float* b, nint ldb, float* c)
        {
            Vector256<float> c0 = default, c1 = default, d0 = default, d1 = default;
            int p = 0;
            for (; p + 1 < kc; p += 2, a += 2 * aCol, b += 2 * ldb)
            {
                Vector256<float> x = Vector256.Create(a[0]), y = Vector256.Create(a[aCol]);
                c0 = Vector256.FusedMultiplyAdd(x, Vector256.Load(b), c0);
                c1 = Vector256.FusedMultiplyAdd(x, Vector256.Load(b + 8), c1);
                d0 = Vector256.FusedMultiplyAdd(y, Vector256.Load(b + ldb), d0);
                d1 = Vector256.FusedMultiplyAdd(y, Vector256.Load(b + ldb + 8), d1);
            }
            if (p < kc)
            {
                Vector256<float> x = Vector256.Create(a[0]);
                c0 = Vector256.FusedMultiplyAdd(x, Vector256.Load(b), c0);
                c1 = Vector256.FusedMultiplyAdd(x, Vector256.Load(b + 8), c1);
            }
            (c0 + d0).Store(c);
            (c1 + d1).Store(c + 8);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        static unsafe void Store(float* c, Vector256<float> v0, Vector256<float> v1, bool add)
        {
            if (add)
            {
                v0 += Vector256.Load(c);
                v1 += Vector256.Load(c + 8);
            }
            v0.Store(c);
            v1.Store(c + 8);
        }
    }
}
