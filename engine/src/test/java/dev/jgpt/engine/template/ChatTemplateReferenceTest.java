package dev.jgpt.engine.template;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.jgpt.engine.SharedData;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every rendering in reference/chat-templates/cases.json (made with Python's jinja2 the way Hugging Face
 * renders chat templates) must come out byte for byte, or fail with the template's own error message.
 */
class ChatTemplateReferenceTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Path CASES = SharedData.reference("chat-templates/cases.json");

    static Stream<Arguments> cases() throws IOException {
        JsonNode root = JSON.readTree(CASES.toFile());
        List<Arguments> cases = new ArrayList<>();
        for (JsonNode c : root.get("cases")) {
            String name = c.get("template").asText() + " / " + c.get("conversation").asText()
                    + (c.get("add_generation_prompt").asBoolean() ? " + generation prompt" : "");
            cases.add(Arguments.of(name, c, root));
        }
        return cases.stream();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    @SuppressWarnings("unchecked")
    void rendersLikeHuggingFace(String name, JsonNode testCase, JsonNode root) throws IOException {
        String source = Files.readString(CASES.resolveSibling(testCase.get("template").asText()));
        LocalDate today = LocalDate.parse(root.get("date_for_strftime_now").asText());
        Clock clock = Clock.fixed(today.atTime(12, 0).toInstant(ZoneOffset.UTC), ZoneOffset.UTC);
        ChatTemplate template = new ChatTemplate(source, clock);

        JsonNode conversation = root.get("conversations").get(testCase.get("conversation").asText());
        List<Map<String, Object>> messages = JSON.convertValue(conversation.get("messages"), List.class);
        List<Map<String, Object>> tools = conversation.has("tools")
                ? JSON.convertValue(conversation.get("tools"), List.class) : null;
        Map<String, Object> extra = new HashMap<>();
        extra.put("bos_token", testCase.get("bos_token").asText());
        extra.put("eos_token", testCase.get("eos_token").asText());
        boolean addGenerationPrompt = testCase.get("add_generation_prompt").asBoolean();

        if (testCase.has("expected_error")) {
            ChatTemplateException refused = assertThrows(ChatTemplateException.class,
                    () -> template.render(messages, tools, addGenerationPrompt, extra));
            assertEquals(testCase.get("expected_error").asText(), refused.getMessage());
            assertEquals(true, refused.raisedByTemplate());
        } else {
            assertEquals(testCase.get("expected").asText(), template.render(messages, tools, addGenerationPrompt, extra));
        }
    }
}
