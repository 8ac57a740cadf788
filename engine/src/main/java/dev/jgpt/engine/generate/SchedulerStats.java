package dev.jgpt.engine.generate;

/**
 * A snapshot of a {@link BatchScheduler}, for metrics.
 *
 * @param running               requests holding a sequence slot (prefilling or decoding); also the slots in use
 * @param waiting               requests queued for a slot
 * @param slots                 sequence slots in the pool
 * @param kvPositionsUsed       cache positions filled across all slots, including idle slots' cached prefixes
 * @param kvCapacity            cache positions of all slots together
 * @param tokensGenerated       tokens generated since the scheduler started
 * @param promptTokensEvaluated prompt tokens run through the model (cached ones excluded) since the start
 * @param cacheHits             requests that reused a cached prefix of an earlier sequence
 * @param cachedPromptTokens    prompt tokens taken from the cache instead of evaluated
 */
public record SchedulerStats(int running, int waiting, int slots, long kvPositionsUsed, long kvCapacity,
                             long tokensGenerated, long promptTokensEvaluated, long cacheHits,
                             long cachedPromptTokens) {
}
