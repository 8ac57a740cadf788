package dev.jgpt.api;

/**
 * Decides, before any computation, whether a prompt and its requested answer fit the model's context, and
 * how many tokens the answer may have.
 */
final class ContextBudget {
    private ContextBudget() {
    }

    /**
     * @param requested the client's max tokens, or null for "as many as fit"
     * @param promptParam the request field holding the prompt ("messages" or "prompt"), named in the error
     * @return the answer's token limit
     */
    static int maxTokens(int promptTokens, Integer requested, int contextSize, String promptParam) {
        if (promptTokens == 0) {
            throw ApiException.invalidRequest(promptParam, "The " + promptParam + " gave no tokens; send some text.");
        }
        if (requested == null) {
            // At least one token must fit after the prompt, or there is nothing to answer with.
            if (promptTokens >= contextSize) {
                throw ApiException.contextLengthExceeded(promptParam, "This model's maximum context length is "
                        + contextSize + " tokens. However, your " + promptParam + " resulted in " + promptTokens
                        + " tokens. Please reduce the length of the " + promptParam + ".");
            }
            return contextSize - promptTokens;
        }
        long total = (long) promptTokens + requested;
        if (total > contextSize) {
            throw ApiException.contextLengthExceeded(promptParam, "This model's maximum context length is "
                    + contextSize + " tokens. However, you requested " + total + " tokens (" + promptTokens + " in the "
                    + promptParam + ", " + requested + " in the completion). Please reduce the length of the "
                    + promptParam + " or completion.");
        }
        return requested;
    }
}
