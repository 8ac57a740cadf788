package dev.jgpt.engine.generate;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class StopStringMatcherTest {

    private static String feed(StopStringMatcher m, String... chunks) {
        StringBuilder shown = new StringBuilder();
        for (String c : chunks) {
            shown.append(m.accept(c));
        }
        return shown.toString();
    }

    @Test
    void stopStringSplitAcrossChunksIsNeverShown() {
        StopStringMatcher m = new StopStringMatcher(List.of("</answer>"));
        assertEquals("Hello ", feed(m, "Hello </an", "swer> more"));
        assertTrue(m.stopped());
        assertEquals("", m.accept("ignored"));
    }

    @Test
    void heldBackTextIsReleasedWhenItIsNotAStop() {
        StopStringMatcher m = new StopStringMatcher(List.of("STOP"));
        assertEquals("a ", m.accept("a ST"));
        assertEquals("STart", m.accept("art"));
        assertEquals("S", feed(m, "S") + m.flush());
        assertFalse(m.stopped());
    }

    @Test
    void earliestOfSeveralStopsWins() {
        StopStringMatcher m = new StopStringMatcher(List.of("\n\n", "User:"));
        assertEquals("answer ", feed(m, "answer User: x\n\n"));
    }

    @Test
    void noStopsPassesEverythingThrough() {
        StopStringMatcher m = new StopStringMatcher(List.of());
        assertEquals("abc", feed(m, "a", "b", "c"));
    }
}
