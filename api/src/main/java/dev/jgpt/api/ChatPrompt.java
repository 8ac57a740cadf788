package dev.jgpt.api;

import dev.jgpt.engine.model.Model;
import dev.jgpt.engine.tokenizer.Tokenizer;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Renders a conversation with the model's chat template and tokenizes it, as {@code jgpt run} does (the
 * same steps as the cli's PromptBuilder; both belong in the engine once it offers them).
 */
final class ChatPrompt {
    private ChatPrompt() {
    }

    static int[] tokens(Model m, List<Map<String, Object>> messages) {
        Tokenizer tok = m.tokenizer();
        String bos = tok.bos() >= 0 ? tok.tokenText(tok.bos()) : "";
        String eos = tok.eos() >= 0 ? tok.tokenText(tok.eos()) : "";
        Map<String, Object> extra = new HashMap<>();
        extra.put("bos_token", bos);
        extra.put("eos_token", eos);
        String text = m.chatTemplate().render(messages, null, true, extra);
        // Templates often write the BOS token themselves; the tokenizer adds it too, so drop the written one.
        if (!bos.isEmpty() && text.startsWith(bos)) {
            text = text.substring(bos.length());
        }
        return tok.encode(text, true, true);
    }
}
