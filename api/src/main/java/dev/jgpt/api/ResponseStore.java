package dev.jgpt.api;

import dev.jgpt.api.OpenAiProtocol.ChatMessage;
import dev.jgpt.api.ResponsesProtocol.Response;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The responses kept in memory for {@code previous_response_id} and {@code GET /v1/responses/{id}}: at most
 * {@code capacity} of them, the least recently used forgotten first. Nothing survives a restart.
 */
final class ResponseStore {
    /** Responses kept by a server. */
    static final int DEFAULT_CAPACITY = 1024;

    /**
     * A response and the conversation that led to it, its own answer included (instructions excluded: as
     * with OpenAI, they do not carry over to the next turn).
     */
    record Stored(Response response, List<ChatMessage> conversation) {
    }

    private final Map<String, Stored> byId;

    ResponseStore(int capacity) {
        if (capacity < 1) {
            throw new IllegalArgumentException("the response store needs room for at least 1 response, got " + capacity);
        }
        this.byId = new LinkedHashMap<>(16, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<String, Stored> eldest) {
                return size() > capacity;
            }
        };
    }

    synchronized void put(Stored stored) {
        byId.put(stored.response().id(), stored);
    }

    /** The stored response, or null when it was never stored or has been forgotten. */
    synchronized Stored get(String id) {
        return byId.get(id);
    }

    /** Forgets a response; false when there was none. */
    synchronized boolean remove(String id) {
        return byId.remove(id) != null;
    }
}
