package dev.jgpt.api;

import java.util.concurrent.ThreadLocalRandom;

/** Response ids like OpenAI's ({@code chatcmpl-...}) and seeds for requests that give none. */
final class RequestIds {
    private static final char[] ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789".toCharArray();

    private RequestIds() {
    }

    static String next(String prefix) {
        ThreadLocalRandom random = ThreadLocalRandom.current();
        StringBuilder sb = new StringBuilder(prefix);
        for (int i = 0; i < 24; i++) {
            sb.append(ALPHABET[random.nextInt(ALPHABET.length)]);
        }
        return sb.toString();
    }

    static long seed() {
        return ThreadLocalRandom.current().nextLong();
    }
}
