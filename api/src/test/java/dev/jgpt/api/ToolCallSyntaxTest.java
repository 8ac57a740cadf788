package dev.jgpt.api;

import org.junit.jupiter.api.Test;

import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ToolCallSyntaxTest {

    @Test
    void hermesCallsAreReadWithTheTextAroundThem() {
        var parsed = ToolCallSyntax.HERMES.parse("Let me check.\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\":"
                + " {\"city\": \"Paris\"}}\n</tool_call>\n<tool_call>{\"name\": \"get_time\", \"arguments\": {}}"
                + "</tool_call>", Set.of("get_weather", "get_time"));
        assertEquals("Let me check.", parsed.content());
        assertEquals(2, parsed.calls().size());
        assertEquals("get_weather", parsed.calls().get(0).function().name());
        assertEquals("{\"city\":\"Paris\"}", parsed.calls().get(0).function().arguments());
        assertEquals("get_time", parsed.calls().get(1).function().name());
    }

    @Test
    void unknownFunctionsAndBrokenJsonStayText() {
        String text = "<tool_call>\n{\"name\": \"rm_rf\", \"arguments\": {}}\n</tool_call>";
        var parsed = ToolCallSyntax.HERMES.parse(text, Set.of("get_weather"));
        assertTrue(parsed.calls().isEmpty());
        assertEquals(text, parsed.content());
        assertTrue(ToolCallSyntax.HERMES.parse("<tool_call>{\"name\": ", Set.of("x")).calls().isEmpty());
    }

    @Test
    void llama3CallsAreBareJsonWithParameters() {
        var parsed = ToolCallSyntax.LLAMA3.parse(" {\"name\": \"get_weather\", \"parameters\": {\"city\": \"Rome\"}}",
                Set.of("get_weather"));
        assertNull(parsed.content());
        assertEquals("{\"city\":\"Rome\"}", parsed.calls().getFirst().function().arguments());
        assertTrue(ToolCallSyntax.LLAMA3.parse("The weather is fine.", Set.of("get_weather")).calls().isEmpty());
    }

    @Test
    void mistralCallsAreAListAfterTheTag() {
        var parsed = ToolCallSyntax.MISTRAL.parse("[TOOL_CALLS][{\"name\": \"a\", \"arguments\": {\"x\": 1}},"
                + " {\"name\": \"b\", \"arguments\": {}}]", Set.of("a", "b"));
        assertNull(parsed.content());
        assertEquals(2, parsed.calls().size());
        assertEquals("{\"x\":1}", parsed.calls().get(0).function().arguments());
        assertTrue(ToolCallSyntax.MISTRAL.parse("[TOOL_CALLS] not json", Set.of("a")).calls().isEmpty());
    }

    @Test
    void theTemplateDecidesTheSyntax() {
        assertEquals(ToolCallSyntax.MISTRAL, ToolCallSyntax.forTemplate("{{ '[TOOL_CALLS]' }} ... tools"));
        assertEquals(ToolCallSyntax.HERMES, ToolCallSyntax.forTemplate("... <tool_call> ..."));
        assertEquals(ToolCallSyntax.LLAMA3, ToolCallSyntax.forTemplate("{\"name\": function name, \"parameters\": ...}"));
        assertEquals(ToolCallSyntax.HERMES, ToolCallSyntax.forTemplate(""));
    }
}
