package dev.jgpt.api;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Message content as a string or as text parts, shared by the chat and Responses endpoints. */
class ContentPartsTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final List<String> TYPES = List.of("input_text", "output_text");

    static String text(String json) throws Exception {
        return ContentParts.text(JSON.readTree(json), "content", TYPES);
    }

    @Test
    void joinsTheTextParts() throws Exception {
        assertEquals("hello", text("\"hello\""));
        assertEquals("ab", text("""
                [{"type": "input_text", "text": "a"}, {"type": "output_text", "text": "b"}]"""));
        assertEquals("", text("[]"));
    }

    @Test
    void refusesWhatIsNotText() {
        assertEquals("content", assertThrows(ApiException.class, () -> text("null")).param());
        assertEquals("content", assertThrows(ApiException.class, () -> text("5")).param());
        ApiException untyped = assertThrows(ApiException.class, () -> text("[\"a\"]"));
        assertEquals("content[0]", untyped.param());
        assertTrue(untyped.getMessage().contains("{\"type\": \"input_text\""), untyped.getMessage());
        ApiException image = assertThrows(ApiException.class, () -> text("[{\"type\": \"input_image\"}]"));
        assertEquals("content[0].type", image.param());
        assertTrue(image.getMessage().contains("only 'input_text' and 'output_text' parts"), image.getMessage());
        assertEquals("content[0].text", assertThrows(ApiException.class,
                () -> text("[{\"type\": \"input_text\", \"text\": 1}]")).param());
    }
}
