package dev.jgpt.engine.tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Matrix-vector and batched matrix products over weight tensors, split by rows across a persistent pool
 * of threads. A token of a small model makes hundreds of products, so dispatch must cost microseconds:
 * the {@code threads - 1} workers spin for a while after each job and only then park, the calling thread
 * takes a share of every job, rows are cut into chunks of similar work and each thread works through a
 * contiguous range of them, then helps with what is left of the others' (a busy core just takes fewer
 * chunks), and nothing is allocated per call. Products below {@link #SERIAL_WORK}
 * multiply-adds run on the calling thread alone, as do calls made while another thread is using the pool.
 *
 * <p>Weight matrices are row-major: row r is elements {@code [r * cols, (r + 1) * cols)} of the tensor.
 */
public final class MatrixOps implements AutoCloseable {
    /** Below this many multiply-adds, waking workers costs more than it saves. */
    static final long SERIAL_WORK = 1 << 15;
    /** The work of one chunk of rows: a few microseconds, against tens of nanoseconds to claim it. */
    static final long CHUNK_WORK = 1 << 16;
    private static final long MAX_CHUNKS_PER_THREAD = 64;
    /**
     * From this batch size on, matmul dequantizes weight rows once, {@link #TILE_ROWS} at a time, and
     * multiplies them with the whole batch in {@link TiledMatmul}. Already at 2 tokens that beats one
     * kernel dot per token (one thread, F16 2816 x 1024: 86 -> 39 ns per row and token at n = 2).
     */
    static final int DEQUANTIZE_BATCH = 2;
    /**
     * From this batch size on (with 16-lane vectors), the dequantized rows multiply the batch with the tokens
     * in the vector lanes ({@link TiledMatmul#multiplyLanes}), the batch transposed once per product. One Zen
     * 5 thread, F16 weights, ns per 32 multiply-adds, {@link TiledMatmul#multiply} against the lanes: 512 x
     * 256 n = 128 0.60 -> 0.41-0.47, n = 32 0.63-0.65 -> 0.47, 1024 x 1024 n = 128 0.53 -> 0.49-0.59 (the
     * transposed batch streams from L2), n = 48 0.50 -> 0.43; at 16 tokens (one vector per tile) 0.65-0.71 ->
     * 0.71-0.76, so it starts at 32. With 8 lanes emulated on that machine ({@code -Djgpt.vectorBits=256},
     * which still has AVX-512's 32 vector registers) it was slower at 128 tokens (512 x 256 0.81 -> 0.89,
     * 1024 x 1024 0.72 -> 0.85). On a real AVX2 CPU (Zen 3), whose 16 registers do not hold
     * {@link TiledMatmul#multiply}'s 4 x 4 tile (16 accumulators), the lanes kernel with 4 x 2 tiles was
     * faster: one thread, 512 x 256 by 128 tokens, 1.58-1.77 -> 0.99-1.12 ns per 32 multiply-adds
     * (alternating runs, minimum of 5 each).
     */
    static final int LANE_BATCH = 32;
    /**
     * {@link #LANE_BATCH} with 8 lanes (AVX2): two vectors of tokens fill the 4 x 2 tile. One Zen 3 thread, F16
     * 512 x 256, ns per 32 multiply-adds, {@link TiledMatmul#multiply} against the lanes (alternating runs,
     * minimum of 5 each): n = 16 1.7-2.2 -> 1.1-1.3; n = 8 (one vector, 4 x 1 tiles) 2.0-2.3 -> 2.1-3.2, and
     * with 6 x 1 tiles 1.9-2.0 -> 2.0 (32000 x 256: 2.5-2.6 -> 2.8-3.0).
     */
    static final int LANE_BATCH_8 = 16;
    /** Work units (multiply-adds) of moving one value into the transposed batch, for {@link #forRows}. */
    private static final int TRANSPOSE_WORK = 4;
    /** Weight rows dequantized together for {@link TiledMatmul}, whose tiles are 4 rows high. */
    private static final int TILE_ROWS = 4;
    /**
     * Whether batches of cached F16 weights convert each pair of rows to floats before multiplying them with
     * groups of 8 tokens ({@link F16Tensor#dotConverted2x8}) instead of converting in registers
     * ({@link F16Tensor#dotRows2x8}): on Intel CPUs, unless {@code -Djgpt.f16.convertBatch=true|false} says
     * otherwise (on a Zen 5 with {@link #OWN_TRANSPOSE}, tiny-qwen3-f16's 8 sequences, 3 alternating pairs:
     * 5 615-6 444 tokens/s against 5 900-6 689 without, no gain). Same bits either way. One Intel Xeon (Emerald Rapids)
     * thread, 8 tokens, µs per product: tiny-qwen3-f16's 32000 x 256 output 1 724 -> 1 581-1 584; random
     * halves of standard deviation 0.02 (0.24% of them subnormal) 2 418-2 423 -> 1 569-1 645, of deviation 1
     * 1 671 -> 1 899 (one run each). Two threads: tiny-qwen3-f16's output 871-912 -> 836-1 084 over three
     * alternating pairs; its 8 sequences 5 766-5 879 -> 5 902-6 103 tokens/s (7 alternating pairs).
     */
    static final boolean CONVERT_F16_BATCH = Boolean.parseBoolean(
            System.getProperty("jgpt.f16.convertBatch", Boolean.toString(!CpuVendor.AMD)));
    /**
     * Whether single F16 tokens convert short rows before their products ({@link F16Tensor#dotRows}) even
     * when the weights stream from DRAM: on Intel CPUs, unless {@code -Djgpt.f16.convertStreamed=true|false}
     * says otherwise. On an Intel Xeon (Emerald Rapids, two threads) bench-llama-f16 decoded at 20-26
     * tokens/s that way against 14-17 without; on a Zen 5 converting streamed rows first had been much
     * slower (see {@link F16Tensor#dotRows}).
     */
    static final boolean CONVERT_STREAMED_F16 = Boolean.parseBoolean(
            System.getProperty("jgpt.f16.convertStreamed", Boolean.toString(!CpuVendor.AMD)));
    /**
     * Whether a product dispatched to the pool with tokens in the lanes ({@link TiledMatmul#multiplyLanes})
     * has every thread transpose the whole batch into a buffer of its own at its first chunk
     * ({@link #ownTransposed}), instead of the threads transposing a share each into one buffer that all of
     * them then read: each thread then reads the other threads' shares from their caches, which on an Intel
     * Xeon (Emerald Rapids, two vCPUs) cost a fixed 23-25 µs a product on two threads (0-5 on one; 64-1024
     * rows of 256 columns by 128 tokens), felt most by the small products. Two threads, F16 weights by 128
     * tokens, µs per product (alternating runs): 128 x 256 52.7 -> 35.6, 256 x 256 76.5 -> 63.9, 1024 x 256
     * 260 -> 228. 128-token prompts, tokens/s, 3 and 2 alternating pairs: tiny-qwen3-f16 24 939-25 816 ->
     * 26 107-26 820, bench-llama-f16 383-388 -> 394-397. Each thread does the whole transposition (128 x 256:
     * 4.4 µs on one thread), so only up to {@link #OWN_TRANSPOSE_THREADS} threads and
     * {@link #OWN_TRANSPOSE_BYTES}; on Intel CPUs, unless {@code -Djgpt.lanes.ownTranspose=true|false} says
     * otherwise (on a Zen 5 with {@link #CONVERT_F16_BATCH}, tiny-qwen3-f16's 128-token prompts, 3 alternating
     * pairs: 23 516-28 621 tokens/s against 26 265-29 288 without, no gain).
     */
    static final boolean OWN_TRANSPOSE = Boolean.parseBoolean(
            System.getProperty("jgpt.lanes.ownTranspose", Boolean.toString(!CpuVendor.AMD)));
    private static final int OWN_TRANSPOSE_THREADS = 4;
    private static final long OWN_TRANSPOSE_BYTES = 8L << 20;
    /**
     * Whether single F16 tokens' converted rows ({@link F16Tensor#dotRows}) and the dequantized tiles of small
     * batches ({@link #ALIGNED_TOKENS}) start on a 64-byte boundary of their scratch array ({@link Alignment}),
     * unless {@code -Djgpt.alignedScratch=false} says otherwise. The JVM puts arrays on 8-byte boundaries, so
     * without it 7 runs in 8 had every 512-bit store and load of the rows span two cache lines. One Zen 5
     * thread, a scratch loop converting tiny-qwen3-f16's 32000 x 256 output 8 rows at a time and multiplying
     * them as {@code dotRows} does, µs per product: 511-577 at three offsets of the array, 425-471 at the
     * fourth. tiny-qwen3-f16's decoding on two threads ({@code jgpt bench}, 5 alternating pairs): 1 396-1 724
     * tokens/s without, 1 817-1 933 with.
     */
    static final boolean ALIGNED_SCRATCH = Boolean.parseBoolean(
            System.getProperty("jgpt.alignedScratch", "true"));
    /**
     * Whether the dequantized tiles of small batches ({@link TiledMatmul#multiply}) and a copy of the batch's
     * tokens start on 64-byte boundaries of their scratch arrays ({@link #ALIGNED_SCRATCH} for the tiles; this
     * flag, {@code -Djgpt.alignedTokens}, for the tokens, copied once per chunk). One Zen 5 thread, F16 weights
     * by 8 tokens, ns per 256 values and token, 4 alternating pairs each: the tiles aligned, 1024 x 1024
     * 5.38-5.53 -> 5.02-5.42, 2816 x 1024 5.41-5.72 -> 5.18-5.40; then the tokens too, 1024 x 1024 5.10-5.26 ->
     * 4.79-5.07, 2816 x 1024 5.27-5.63 -> 4.74-5.13, 1024 x 2816 5.65-6.43 -> 5.20-5.57 (the last three pairs;
     * the first ran in a slow spell).
     */
    static final boolean ALIGNED_TOKENS = Boolean.parseBoolean(
            System.getProperty("jgpt.alignedTokens", "true"));
    /**
     * Whether batches below the lanes kernels' size ({@link TiledMatmul#multiply}'s 4-row tiles, the cached F16
     * rows' pairs) get chunks of whole tiles too, unless {@code -Djgpt.tileChunks=false} says otherwise. Chunks
     * of any size had left a chunk's rows past its last whole tile to one dot product per row and token
     * ({@code Simd.dot}, two chains of multiply-adds waiting on each other): bench-llama-f16's 2816-row gate and
     * up matrices went in chunks of 22 rows, 2 of them that way, and {@code Simd.dot} took 27% of the CPU
     * samples of 8 sequences decoding (tiles 8%). One Zen 5, two threads, 2816 x 1024, the calling thread's
     * CPU ns per 256 values and token, 3 alternating pairs: 8 tokens 3.65-3.98 -> 3.01-3.11, 16 tokens
     * 3.17-4.06 -> 2.68-2.75. Rows a multiple of 4 then all take the tiles, whatever the thread count.
     */
    static final boolean TILE_CHUNKS = Boolean.parseBoolean(System.getProperty("jgpt.tileChunks", "true"));
    /**
     * Whether the dequantizing products of small batches load the next tile's weights ahead when they
     * stream from DRAM ({@link #loadAhead}; {@code -Djgpt.tiles.loadAhead=false} turns it off).
     */
    private static final boolean TILES_LOAD_AHEAD = Boolean.parseBoolean(
            System.getProperty("jgpt.tiles.loadAhead", "true"));
    /** The sum of the bytes {@link #loadAhead} loaded, written so that the loads are kept. */
    private static long loadedAhead;
    /** How long idle workers spin before parking: covers the gaps between the products of one token. */
    private static final long SPIN_NANOS = 200_000;
    /**
     * Rows a chunk of {@link #forRows} is a multiple of, when there are enough: the row tiles of the
     * quantized kernels, whose leftover rows take a slower one-row path (same bits). Not for the float
     * products of {@link #matmul}: {@link TiledMatmul}'s tiles add in another order than its leftover rows,
     * so moving chunk boundaries would move results (tiny-llama3-q4_0's parity went from 0.139 to 0.154).
     * Except {@link TiledMatmul#multiplyLanes}, whose outputs do not depend on the tile they fall in: there a
     * 128-token prompt's 256-column products had been split into 2-row chunks, each row one vector of tokens
     * at a time, and two threads took as long as one (tiny-qwen3-f16's prompt: 9.3-10.6 ms on two threads,
     * 9.3-9.7 on one; with chunks of whole tiles 4.7-7.3 ms).
     */
    private static final int CHUNK_ALIGN = 8;

    /** Ints between two threads' chunk counters: 128 bytes, two cache lines (the adjacent-line prefetcher). */
    private static final int COUNTER_STRIDE = 32;

    private static volatile MatrixOps shared;

    private final int threads;
    private final Worker[] workers;
    private final ReentrantLock dispatch = new ReentrantLock();
    /**
     * The next chunk of each thread's range, {@link #COUNTER_STRIDE} ints apart so that each counter has a
     * cache line of its own.
     */
    private final AtomicIntegerArray nextChunk;
    private final ThreadLocal<float[]> scratch = ThreadLocal.withInitial(() -> new float[0]);
    /**
     * The calling thread's transposed batch for {@link TiledMatmul#multiplyLanes}, in native memory on a
     * 64-byte boundary: every 512-bit load of it then reads one cache line, where a Java array's data (16
     * bytes past the object's start) made each load straddle two (one Intel Xeon thread, ns per 1000
     * multiply-adds of the 4 x 64-token tile, 768 x 256 by 128 tokens: ~30 -> ~24).
     */
    private final ThreadLocal<MemorySegment> transposed = ThreadLocal.withInitial(() -> MemorySegment.NULL);
    /** Each pool thread's own transposed batch ({@link #OWN_TRANSPOSE}), on a 64-byte boundary. */
    private final ThreadLocal<MemorySegment> ownTransposed = ThreadLocal.withInitial(() -> MemorySegment.NULL);
    /** The job ({@link #generation}) whose batch {@link #ownTransposed} holds, per thread. */
    private final ThreadLocal<long[]> ownTransposedJob = ThreadLocal.withInitial(() -> new long[] {-1});
    /** Each thread's accumulators on their way out of {@link TiledMatmul#multiplyLanes}. */
    private final ThreadLocal<float[]> laneScratch = ThreadLocal.withInitial(() -> new float[16 * Simd.LANES]);
    /** Each thread's copy of a batch's tokens on a 64-byte boundary for the tiles ({@link #ALIGNED_TOKENS}). */
    private final ThreadLocal<float[]> tokenScratch = ThreadLocal.withInitial(() -> new float[0]);

    // The current job, written by the dispatching thread before it bumps generation (a volatile write),
    // read by workers after they see the new generation.
    private FloatTensor jobWeights;
    private float[] jobX;
    private int jobXOffset;
    private float[] jobOut;
    private int jobOutOffset;
    private int jobRows;
    private int jobCols;
    private int jobBatch;
    private boolean jobCached;
    private MemorySegment jobXt;
    /** Whether each thread transposes the job's batch itself ({@link #OWN_TRANSPOSE}); jobXt is then null. */
    private boolean jobOwnTranspose;
    private int jobPadded;
    private int jobChunkRows;
    private int jobChunks;
    private RowTask jobTask;
    private volatile long generation;
    private volatile Throwable failure;
    private volatile boolean closed;

    /** A pool of {@code threads} (>= 1) threads including the caller's. */
    public MatrixOps(int threads) {
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be at least 1, got " + threads);
        }
        this.threads = threads;
        this.workers = new Worker[threads - 1];
        this.nextChunk = new AtomicIntegerArray(threads * COUNTER_STRIDE);
        for (int i = 0; i < workers.length; i++) {
            workers[i] = new Worker(i + 1);
            Thread t = Thread.ofPlatform().daemon().name("jgpt-matrix-" + (i + 1)).unstarted(workers[i]);
            workers[i].thread = t;
            t.start();
        }
    }

    /**
     * The process-wide pool: {@code -Djgpt.threads=N} threads, by default one per available processor.
     */
    public static MatrixOps shared() {
        MatrixOps s = shared;
        if (s == null) {
            synchronized (MatrixOps.class) {
                s = shared;
                if (s == null) {
                    s = new MatrixOps(Integer.getInteger("jgpt.threads", Runtime.getRuntime().availableProcessors()));
                    shared = s;
                }
            }
        }
        return s;
    }

    public int threads() {
        return threads;
    }

    /** Work on a range of rows {@code [from, to)}; ranges of one job never overlap. */
    @FunctionalInterface
    public interface RowTask {
        void run(int from, int to);
    }

    /**
     * Runs {@code task} over rows {@code [0, rows)} split across the pool, for kernels that are not a plain
     * product of a tensor and floats (e.g. quantized activations). {@code work} is the total number of
     * multiply-adds, used to run small jobs on the calling thread.
     */
    public void forRows(int rows, long work, RowTask task) {
        forRows(rows, work, CHUNK_ALIGN, task);
    }

    /**
     * {@link #forRows(int, long, RowTask)} in chunks of a multiple of {@code align} rows where every thread
     * still gets one: for kernels that work in tiles of more than {@link #CHUNK_ALIGN} rows.
     */
    public void forRows(int rows, long work, int align, RowTask task) {
        if (workers.length == 0 || work < SERIAL_WORK || rows < 2 || !dispatch.tryLock()) {
            task.run(0, rows);
            return;
        }
        try {
            jobTask = task;
            jobRows = rows;
            planChunks(rows, work, align);
            runJob();
        } finally {
            jobTask = null;
            dispatch.unlock();
        }
    }

    /** {@code out[outOffset + r] = dot(row r of w, x[xOffset .. xOffset + cols))} for r in [0, rows). */
    public void matvec(FloatTensor w, float[] x, int xOffset, float[] out, int outOffset, int rows, int cols) {
        check(w, x, xOffset, cols, 1, out, outOffset, rows);
        run(w, x, xOffset, out, outOffset, rows, cols, 0, false);
    }

    /**
     * Batched product: {@code out[b * rows + r] = dot(row r of w, x[b * cols .. (b + 1) * cols))} for b in
     * [0, n). Each weight row is read once for the whole batch.
     */
    public void matmul(FloatTensor w, float[] x, int n, float[] out, int rows, int cols) {
        matmul(w, x, n, out, rows, cols, false);
    }

    /**
     * {@link #matmul(FloatTensor, float[], int, float[], int, int)} for weights that stay in the caches from
     * one call to the next ({@code cached}: a model that fits in them) or stream from DRAM. Single F16 tokens
     * of cached weights take {@link F16Tensor#dotRows}, which converts short rows before their products:
     * faster from the caches, slower from DRAM on a Zen 5 (one thread, ns per row: 256 x 768 cached 69 -> 44,
     * 32000 x 1024 from DRAM 120 -> 212), faster from DRAM too on an Intel Xeon (Emerald Rapids), where
     * streamed weights take it as well ({@link #CONVERT_STREAMED_F16}). Batches of streamed weights that are
     * dequantized a tile at a time load the next tile ahead ({@link #loadAhead}).
     */
    public void matmul(FloatTensor w, float[] x, int n, float[] out, int rows, int cols, boolean cached) {
        if (n < 1) {
            throw new IllegalArgumentException("batch size must be at least 1, got " + n);
        }
        check(w, x, 0, cols, n, out, 0, rows);
        run(w, x, 0, out, 0, rows, cols, n, cached);
    }

    private static void check(FloatTensor w, float[] x, int xOffset, int cols, int n, float[] out, int outOffset,
                              int rows) {
        if ((long) rows * cols > w.size()) {
            throw new IllegalArgumentException(rows + "x" + cols + " product on a tensor of only " + w.size()
                    + " elements");
        }
        if (xOffset < 0 || (long) xOffset + (long) n * cols > x.length) {
            throw new IllegalArgumentException("input of " + x.length + " floats is too short for " + n + " x "
                    + cols + " from offset " + xOffset);
        }
        if (outOffset < 0 || (long) outOffset + (long) n * rows > out.length) {
            throw new IllegalArgumentException("output of " + out.length + " floats is too short for " + n + " x "
                    + rows + " from offset " + outOffset);
        }
    }

    /** batch 0 means a matvec with offsets; batch >= 1 a matmul. */
    private void run(FloatTensor w, float[] x, int xOffset, float[] out, int outOffset, int rows, int cols,
                     int batch, boolean cached) {
        long work = (long) rows * cols * Math.max(1, batch);
        MemorySegment xt = null;
        int padded = 0;
        boolean pooled = workers.length > 0 && work >= SERIAL_WORK && rows >= 2;
        boolean lanes = lanes(w, batch);
        if (lanes) {
            padded = (batch + Simd.LANES - 1) / Simd.LANES * Simd.LANES;
        }
        boolean own = lanes && pooled && OWN_TRANSPOSE && threads <= OWN_TRANSPOSE_THREADS
                && (long) padded * cols * Float.BYTES <= OWN_TRANSPOSE_BYTES;
        if (own && dispatch.tryLock()) {
            try {
                setJob(w, x, xOffset, out, outOffset, rows, cols, batch, cached, null, padded);
                jobOwnTranspose = true;
                planChunks(rows, work, TILE_ROWS);
                runJob();
            } finally {
                jobOwnTranspose = false;
                dispatch.unlock();
            }
            return;
        }
        if (lanes) {
            xt = buffer(transposed, (long) padded * cols * Float.BYTES);
            float[] from = x;
            MemorySegment to = xt;
            int p = padded;
            int[] map = TiledMatmul.gatherMap(cols);
            forRows(padded / Simd.LANES, (long) padded * cols * TRANSPOSE_WORK,
                    (g0, g1) -> {
                        for (int g = g0; g < g1; g++) {
                            TiledMatmul.transpose(from, xOffset, batch, cols, to, p, g * Simd.LANES, map);
                        }
                    });
        }
        if (!pooled || !dispatch.tryLock()) {
            computeRows(w, x, xOffset, xt, padded, out, outOffset, rows, cols, batch, cached, 0, rows);
            return;
        }
        try {
            setJob(w, x, xOffset, out, outOffset, rows, cols, batch, cached, xt, padded);
            // the lanes kernels give the same bits whatever the split, so their chunks can be whole tiles; smaller
            // batches' tiles are faster than their leftover rows' path (TILE_CHUNKS)
            planChunks(rows, work, xt != null || TILE_CHUNKS && batch >= DEQUANTIZE_BATCH ? TILE_ROWS : 1);
            runJob();
        } finally {
            dispatch.unlock();
        }
    }

    /** Writes the product for the workers (the caller holds the dispatch lock). */
    private void setJob(FloatTensor w, float[] x, int xOffset, float[] out, int outOffset, int rows, int cols,
                        int batch, boolean cached, MemorySegment xt, int padded) {
        jobWeights = w;
        jobX = x;
        jobXOffset = xOffset;
        jobOut = out;
        jobOutOffset = outOffset;
        jobRows = rows;
        jobCols = cols;
        jobBatch = batch;
        jobCached = cached;
        jobXt = xt;
        jobPadded = padded;
    }

    /** This thread's buffer in {@code holder}, replaced by one of at least {@code bytes} on a 64-byte boundary. */
    private static MemorySegment buffer(ThreadLocal<MemorySegment> holder, long bytes) {
        MemorySegment b = holder.get();
        if (b.byteSize() < bytes) {
            b = Arena.ofAuto().allocate(bytes, 64);
            holder.set(b);
        }
        return b;
    }

    /**
     * The calling pool thread's own transposed copy of the current job's batch ({@link #OWN_TRANSPOSE}), made
     * at its first chunk of the job.
     */
    private MemorySegment ownTransposed() {
        long[] job = ownTransposedJob.get();
        long g = generation;
        if (job[0] == g) {
            return ownTransposed.get();
        }
        MemorySegment xt = buffer(ownTransposed, (long) jobPadded * jobCols * Float.BYTES);
        int[] map = TiledMatmul.gatherMap(jobCols);
        for (int b = 0; b < jobPadded; b += Simd.LANES) {
            TiledMatmul.transpose(jobX, jobXOffset, jobBatch, jobCols, xt, jobPadded, b, map);
        }
        job[0] = g;
        return xt;
    }

    /**
     * Splits {@code rows} into chunks of about {@link #CHUNK_WORK} multiply-adds for the dynamic hand-out,
     * but at least one per thread. Every chunk costs a hit on a range's counter, so small products get few
     * chunks; large ones get many small chunks, so the threads finish close together (the last chunk is
     * what the others wait for) and a core that gets interrupted just takes fewer. Chunks are whole
     * multiples of {@code align} rows where every thread still gets one.
     */
    private void planChunks(int rows, long work, int align) {
        long chunks = Math.clamp(work / CHUNK_WORK, threads, threads * MAX_CHUNKS_PER_THREAD);
        int chunkRows = (int) Math.max(1, (rows + chunks - 1) / chunks);
        if (align > 1 && rows >= (long) align * threads) {
            chunkRows = Math.min((chunkRows + align - 1) / align * align, (rows / threads) / align * align);
        }
        jobChunkRows = chunkRows;
        jobChunks = (rows + jobChunkRows - 1) / jobChunkRows;
    }

    /** Publishes the job set up by the caller (who holds the dispatch lock), takes part, and waits. */
    private void runJob() {
        for (int r = 0; r < threads; r++) {
            nextChunk.setPlain(r * COUNTER_STRIDE, rangeStart(r));
        }
        if (failure != null) {
            failure = null;
        }
        long g = generation + 1;
        generation = g;
        for (Worker worker : workers) {
            if (worker.parked) {
                LockSupport.unpark(worker.thread);
            }
        }
        Throwable own = null;
        try {
            work(0);
        } catch (Throwable t) {
            own = t;
        }
        // A worker that has not joined yet (still waking up) is shut out instead of waited for.
        for (Worker worker : workers) {
            if (!worker.joined.compareAndSet(g - 1, g)) {
                while (worker.done != g) {
                    Thread.onSpinWait();
                }
            }
        }
        jobX = null;
        jobXt = null;
        jobOut = null;
        jobWeights = null;
        Throwable t = own != null ? own : failure;
        if (t instanceof RuntimeException e) {
            throw e;
        } else if (t instanceof Error e) {
            throw e;
        } else if (t != null) {
            throw new IllegalStateException(t);
        }
    }

    /** First chunk of thread {@code r}'s range: the chunks are split into one contiguous range per thread. */
    private int rangeStart(int r) {
        return (int) ((long) jobChunks * r / threads);
    }

    /**
     * Takes the chunks of thread {@code self}'s own range in order, then helps with what is left of the
     * others'. Each thread streaming through one contiguous stretch of the weights keeps the memory
     * prefetchers effective: chunks dealt out alternately from one counter halved the bandwidth a
     * matrix-vector product got from DRAM on two cores.
     */
    private void work(int self) {
        for (int k = 0; k < threads; k++) {
            int range = (self + k) % threads;
            int end = rangeStart(range + 1);
            int c;
            while ((c = nextChunk.getAndIncrement(range * COUNTER_STRIDE)) < end) {
                runChunk(c);
            }
        }
    }

    private void runChunk(int c) {
        int r0 = c * jobChunkRows;
        int r1 = Math.min(jobRows, r0 + jobChunkRows);
        if (jobTask != null) {
            jobTask.run(r0, r1);
        } else {
            computeRows(jobWeights, jobX, jobXOffset, jobOwnTranspose ? ownTransposed() : jobXt, jobPadded, jobOut,
                    jobOutOffset, jobRows, jobCols, jobBatch, jobCached, r0, r1);
        }
    }

    /** This thread's scratch array, at least {@code floats} long. */
    private float[] scratch(int floats) {
        float[] s = scratch.get();
        if (s.length < floats) {
            s = new float[floats];
            scratch.set(s);
        }
        return s;
    }

    /** Whether a product of {@code batch} tokens takes {@link TiledMatmul#multiplyLanes}. */
    private static boolean lanes(FloatTensor w, int batch) {
        return batch >= (Simd.LANES == 16 ? LANE_BATCH : LANE_BATCH_8) && Simd.ENABLED && Simd.LANES >= 8
                && !(w instanceof F32Tensor);
    }

    private void computeRows(FloatTensor w, float[] x, int xOffset, MemorySegment xt, int padded, float[] out,
                             int outOffset, int rows, int cols, int batch, boolean cached, int r0, int r1) {
        if (batch == 1 && (cached || CONVERT_STREAMED_F16) && w instanceof F16Tensor h && Simd.ENABLED) {
            float[] row = scratch(F16Tensor.dotRowsScratch(cols) + 16);
            int ro = ALIGNED_SCRATCH ? Alignment.floatOffset(row) : 0;
            h.dotRows(r0, r1, cols, x, xOffset, out, outOffset, row, ro);
        } else if (batch == 0) {
            for (int r = r0; r < r1; r++) {
                out[outOffset + r] = w.dot((long) r * cols, x, xOffset, cols);
            }
        } else if (batch < DEQUANTIZE_BATCH || w instanceof F32Tensor) {
            for (int r = r0; r < r1; r++) {
                long rowOffset = (long) r * cols;
                for (int b = 0; b < batch; b++) {
                    out[b * rows + r] = w.dot(rowOffset, x, b * cols, cols);
                }
            }
        } else if (xt != null) {
            float[] tile = scratch(TILE_ROWS * cols);
            float[] lanes = laneScratch.get();
            for (int r = r0; r < r1; r += TILE_ROWS) {
                int nRows = Math.min(TILE_ROWS, r1 - r);
                w.dequantize((long) r * cols, tile, 0, nRows * cols);
                TiledMatmul.multiplyLanes(tile, nRows, cols, xt, padded, batch, out, rows, r, lanes);
            }
        } else {
            tiledRows(w, x, out, rows, cols, batch, cached, r0, r1);
        }
    }

    /**
     * {@link #computeRows} for batches of {@link TiledMatmul}'s tiles, a method of its own: inlined there, the
     * first batch of a streamed F16 model (a short prompt, or sequences decoding together) made C2 recompile
     * {@code computeRows} with it, and the single tokens' products (the same dot loop, now inside the larger
     * method) ran slower for the rest of the process. bench-llama-f16 on two Zen 5 threads, 64 single tokens
     * (tokens/s) before and after 8 sequences had decoded in the same process: 45-62 then 33-36, with this
     * method apart 44-58 then 47-60; after thirty 20-token prompts first: 34-35 throughout, apart 51-58.
     */
    private void tiledRows(FloatTensor w, float[] x, float[] out, int rows, int cols, int batch, boolean cached,
                           int r0, int r1) {
        // F16 weights in the caches take groups of 8 tokens directly, every row of the chunk (pairs, then an odd
        // last one), and the tokens left over by tiles: tile rows sum in the same order either way. Rows past
        // the chunk's last whole tile had taken the tiles' leftover path for all tokens, which is as slow as
        // the direct kernel is fast: 256 x 768 by 8 tokens, cut into chunks of 11 rows, spent 3 of every 11
        // rows there (see docs/performance.md, twenty-fourth session).
        int direct = cached && w instanceof F16Tensor ? F16Tensor.directTokens(batch, cols) : 0;
        if (direct > 0) {
            F16Tensor h = (F16Tensor) w;
            int r = r0;
            if (CONVERT_F16_BATCH) {
                float[] conv = scratch(2 * cols);
                for (; r + 1 < r1; r += 2) {
                    h.dequantizeBlocks((long) r * cols, 2 * cols, conv, 0);
                    for (int t = 0; t < direct; t += 8) {
                        F16Tensor.dotConverted2x8(conv, r, cols, x, t, out, rows);
                    }
                }
            }
            for (; r + 1 < r1; r += 2) {
                for (int t = 0; t < direct; t += 8) {
                    h.dotRows2x8(r, cols, x, t, out, rows);
                }
            }
            if (r < r1) {
                for (int t = 0; t < direct; t += 8) {
                    h.dotRow1x8(r, cols, x, t, out, rows);
                }
            }
            if (direct == batch) {
                return;
            }
        }
        float[] tile = scratch(TILE_ROWS * cols + 16);
        int to = ALIGNED_SCRATCH ? Alignment.floatOffset(tile) : 0;
        float[] xs = x;
        int xo = 0;
        if (ALIGNED_TOKENS) {
            xs = tokenScratch.get();
            if (xs.length < batch * cols + 16) {
                xs = new float[batch * cols + 16];
                tokenScratch.set(xs);
            }
            xo = Alignment.floatOffset(xs);
            System.arraycopy(x, 0, xs, xo, batch * cols);
        }
        boolean ahead = TILES_LOAD_AHEAD && !cached;
        long loaded = 0;
        for (int r = r0; r < r1; r += TILE_ROWS) {
            int nRows = Math.min(TILE_ROWS, r1 - r);
            w.dequantize((long) r * cols, tile, to, nRows * cols);
            if (ahead && r + nRows < r1) {
                int next = Math.min(r1, r + nRows + TILE_ROWS);
                loaded += loadAhead(w, (long) (r + nRows) * cols, (long) next * cols);
            }
            TiledMatmul.multiply(tile, to, nRows, cols, xs, xo, direct, batch, out, rows, r);
        }
        if (ahead) {
            loadedAhead = loaded;
        }
    }

    /**
     * Loads one byte of each cache line of elements {@code [from, to)} of {@code w} (Java has no prefetch
     * instruction) and returns their sum. Called between dequantizing a tile of rows and multiplying it with
     * the batch, for the next tile: its weights then stream in during the multiply-adds instead of when
     * their dequantization reaches them. Two Zen 4 threads, bench-llama-f16 decoding 8 sequences (F16 rows
     * dequantized 4 at a time), ms per step in 12 alternating runs of each: median 71.1 -> 65.6. Not for
     * weights in the caches (tiny-qwen3-f16's 8 sequences: 2.09 -> 2.38 ms per step, the loads' waits
     * without a gain), and not in the fused K-quant kernels: loading 4 KB ahead every few rows took
     * bench-llama-q4_k_m's single tokens from 12.6-17.4 to 18.8-23.1 ms.
     */
    private static long loadAhead(FloatTensor w, long from, long to) {
        long start = w.type().byteSize(from);
        return touchLines(w.data(), start, w.type().byteSize(to) - start);
    }

    /**
     * Loads one byte of each cache line of {@code data}'s {@code bytes} from {@code from} on (as far as
     * {@code data} goes) and returns their sum, which the caller keeps so that the loads are not dropped: the
     * lines then arrive while the caller works on the ones before them (Java has no prefetch instruction).
     * For {@link #loadAhead}. It had loaded the Q8_0 single-token kernel's next rows too, which now spreads
     * its loads over the blocks; not worth it ahead of the Q8_0 batch kernel's conversion (two threads, 8
     * tokens, every matrix of bench-llama-q8_0 once, ~108-111 ms with it against ~100-105 without).
     */
    private static long touchLines(MemorySegment data, long from, long bytes) {
        long sum = 0;
        for (long t = from, end = Math.min(from + bytes, data.byteSize()); t < end; t += 64) {
            sum += data.get(ValueLayout.JAVA_BYTE, t);
        }
        return sum;
    }

    /** Stops the worker threads; the pool then runs everything on the calling thread. */
    @Override
    public void close() {
        closed = true;
        for (Worker worker : workers) {
            LockSupport.unpark(worker.thread);
        }
    }

    private final class Worker implements Runnable {
        /** This worker's range of every job (the dispatching thread has range 0). */
        final int index;
        Thread thread;
        /** The last generation this worker took part in, or was shut out of by the dispatcher. */
        final AtomicLong joined = new AtomicLong();
        volatile long done;
        volatile boolean parked;

        Worker(int index) {
            this.index = index;
        }

        @Override
        public void run() {
            long seen = 0;
            long idleSince = System.nanoTime();
            int spins = 0;
            while (!closed) {
                long g = generation;
                if (g != seen) {
                    seen = g;
                    if (joined.compareAndSet(g - 1, g)) {
                        try {
                            work(index);
                        } catch (Throwable t) {
                            failure = t;
                        }
                        done = g;
                    }
                    idleSince = System.nanoTime();
                    spins = 0;
                } else if (++spins < 1024 || System.nanoTime() - idleSince < SPIN_NANOS) {
                    if (spins >= 1024) {
                        spins = 0;
                    }
                    Thread.onSpinWait();
                } else {
                    parked = true;
                    // Re-read after announcing: the dispatcher either sees parked or we see its new generation.
                    if (generation == seen && !closed) {
                        LockSupport.park(this);
                    }
                    parked = false;
                    idleSince = System.nanoTime();
                    spins = 0;
                }
            }
        }
    }
}
