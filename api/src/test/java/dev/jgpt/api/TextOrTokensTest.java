package dev.jgpt.api;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** The prompt / input shapes shared by {@code /v1/completions} and {@code /v1/embeddings}. */
class TextOrTokensTest {
    static final ObjectMapper JSON = new ObjectMapper();

    static List<TextOrTokens> parse(String json, boolean emptyText, int maxItems) throws Exception {
        return TextOrTokens.parseAll(JSON.readTree(json), "input", emptyText, maxItems);
    }

    static ApiException refused(String json, boolean emptyText, int maxItems) {
        return assertThrows(ApiException.class, () -> parse(json, emptyText, maxItems));
    }

    @Test
    void readsTheFourShapes() throws Exception {
        assertEquals("hi", parse("\"hi\"", true, 10).getFirst().text());
        List<TextOrTokens> strings = parse("[\"a\", \"b\"]", true, 10);
        assertEquals(List.of("a", "b"), strings.stream().map(TextOrTokens::text).toList());
        TextOrTokens ids = parse("[1, 2, 3]", true, 10).getFirst();
        assertNull(ids.text());
        assertArrayEquals(new int[] {1, 2, 3}, ids.tokens());
        List<TextOrTokens> arrays = parse("[[1, 2], \"c\", [3]]", true, 10);
        assertArrayEquals(new int[] {1, 2}, arrays.get(0).tokens());
        assertEquals("c", arrays.get(1).text());
        assertArrayEquals(new int[] {3}, arrays.get(2).tokens());
    }

    @Test
    void errorsNameTheOffendingItem() {
        assertEquals("input", refused("null", true, 10).param());
        assertEquals("input", refused("{}", true, 10).param());
        assertEquals("input", refused("[]", true, 10).param());
        assertEquals("input[1]", refused("[\"a\", []]", true, 10).param());
        assertEquals("input[1]", refused("[[1], [2, 1.5]]", true, 10).param());
        assertEquals("input", refused("[1, 99999999999]", true, 10).param());
        assertEquals(400, refused("[\"a\", 7]", true, 10).status());
    }

    @Test
    void emptyTextAndItemCountFollowTheField() throws Exception {
        assertEquals("", parse("\"\"", true, 10).getFirst().text());
        assertEquals("input", refused("\"\"", false, 10).param());
        assertEquals("input[0]", refused("[\"\", \"a\"]", false, 10).param());
        assertEquals("input", refused("[\"a\", \"b\", \"c\"]", true, 2).param());
        assertEquals(3, parse("[1, 2, 3]", true, 2).getFirst().tokens().length, "one token array is one item");
    }
}
