package dev.jgpt.engine.template;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jgpt.engine.SharedData;
import dev.jgpt.engine.gguf.GgufFile;
import dev.jgpt.engine.gguf.GgufReader;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Template features one at a time; expected texts are what Python's jinja2 renders (HF configuration). */
class ChatTemplateTest {
    private static final Clock NOV_22_2026 = Clock.fixed(Instant.parse("2026-11-22T12:00:00Z"), ZoneOffset.UTC);
    private static final List<Map<String, Object>> MESSAGES = List.of(
            Map.of("role", "user", "content", "  Hello  "),
            Map.of("role", "assistant", "content", "yo"));

    private static String render(String source) {
        return new ChatTemplate(source, NOV_22_2026).render(MESSAGES, null, false, Map.of());
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '\t', quoteCharacter = '`', value = {
        "{{ '  a b  '.strip() }}|{{ 'xxaxx'.strip('x') }}|{{ '\\n\\nhi'.lstrip('\\n') }}|{{ 'hi  '.rstrip() }}\ta b|a|hi|hi",
        "{{ 'a</think>b</think>'.split('</think>') }}\t['a', 'b', '']",
        "{{ ' a  b '.split() }} {{ 'a,b,c'.split(',', 1) }}\t['a', 'b'] ['a', 'b,c']",
        "{{ 'Hello'.startswith('He') }} {{ 'Hello'.endswith('lo') }} {{ 'Hello'.startswith(('x','H')) }}\tTrue True True",
        "{{ 'abc'.upper() }} {{ 'ABC'.lower() }} {{ 'hello world'.title() }} {{ 'aXa'.replace('a', 'b') }}\tABC abc Hello World bXb",
        "{% set d = {'a': 1, 'b': [1, 2]} %}{% for k, v in d.items() %}{{ k }}={{ v|tojson }};{% endfor %}{{ d.get('a') }}{{ d.get('z', 'x') }}\ta=1;b=[1, 2];1x",
        "{% set l = [1, 2, 3, 4] %}{{ l[-1] }} {{ l[1:] }} {{ l[:-1] }} {{ l[::-1] }} {{ l[::2] }} {{ 'hello'[::-1] }}\t4 [2, 3, 4] [1, 2, 3] [4, 3, 2, 1] [1, 3] olleh",
        "{{ 'x' is string }} {{ {} is mapping }} {{ [] is sequence }} {{ 'x' is sequence }} {{ 1 is string }} {{ 'x' is iterable }}\tTrue True True True False True",
        "{% set ns = namespace(n=0, last=messages|length - 1) %}{% for i in [1,2,3] %}{% set ns.n = ns.n + i %}{% endfor %}{{ ns.n }} {{ ns.last }}\t6 1",
        "{{ ' x '|trim }}|{{ 'héllo'|length }}|{{ 'ell' in 'hello' }}|{{ 'a' in {'a': 1} }}|{{ 'z' not in {'a': 1} }}|{{ undefined_thing|trim }}|\tx|5|True|True|True||",
        "{{ 'a' + 'b' ~ 1 ~ 'c' }}\tab1c",
        "{% for i in range(5) %}{% if i == 1 %}{% continue %}{% endif %}{% if i == 3 %}{% break %}{% endif %}{{ i }}{% endfor %}\t02",
        "{{ {'a': 'é', 'b': [1, 2.5, none, true]}|tojson }}\t{\"a\": \"é\", \"b\": [1, 2.5, null, true]}",
        "{% for x in [1, 2, 3] %}{{ loop.index }}{% if loop.previtem %}p{{ loop.previtem }}{% endif %}{% if loop.nextitem %}n{{ loop.nextitem }}{% endif %};{% endfor %}\t1n2;2p1n3;3p2;",
        "{% for x in [1, 2, 3, 4] if x is even %}{{ x }}{{ loop.index }}{{ loop.last }};{% endfor %}\t21False;42True;",
        "{% if not undefined_thing is defined %}a{% endif %}{% if not 1 == 2 %}b{% endif %}{% if not [1]|length == 2 %}c{% endif %}\tabc",
        "{{ (none or []) }} {{ ([1] and 'x') }} {{ 1 if false else 2 }}\t[] x 2",
        "{% macro m(a, b=2) %}{{ a }}-{{ b }}{% endmacro %}{{ m(1) }} {{ m(1, b=5 + 1) }}\t1-2 1-6",
        "{{ messages[0].content }}|{{ messages[-1]['role'] }}|{{ messages|length }}\t`  Hello  |assistant|2`",
        "{{ {'a': {'b': {}}}|tojson }}\t{\"a\": {\"b\": {}}}",
        "{{ strftime_now('%d %b %Y') }} {{ strftime_now is defined }}\t22 Nov 2026 True",
    })
    void behavesLikeJinja2(String source, String expected) {
        assertEquals(expected, render(source));
    }

    @Test
    void trimsAndStripsBlocksAndDropsTheFinalNewline() {
        assertEquals("a\n  b\nc", render("a\n   {% if true %}\n  b\n   {% endif %}\nc\n"));
    }

    @Test
    void tojsonIndentsLikePython() {
        assertEquals("{\n  \"a\": [\n    1,\n    {}\n  ],\n  \"b\": []\n}", render("{{ {'a': [1, {}], 'b': []}|tojson(indent=2) }}"));
    }

    @Test
    void raiseExceptionRefusesWithTheTemplatesMessage() {
        ChatTemplate template = new ChatTemplate(
                "{% if messages[0].role == 'user' %}{{ raise_exception('Must start with system') }}{% endif %}ok");
        ChatTemplateException refused = assertThrows(ChatTemplateException.class,
                () -> template.render(MESSAGES, null, true, null));
        assertEquals("Must start with system", refused.getMessage());
        assertTrue(refused.raisedByTemplate());
    }

    @ParameterizedTest
    @CsvSource(delimiter = '\t', value = {
        "{% if x %}unclosed\tMissing end tag: endif",
        "{{ x + }}\tcannot parse 'x +'",
        "{{ x|no_such_filter }}\tno filter named 'no_such_filter'",
        "{% if x is no_such_test %}{% endif %}\tno test named 'no_such_test'",
        "{% bogus %}\tUnknown tag: bogus",
    })
    void brokenTemplatesFailWhenLoaded(String source, String expectedPart) {
        ChatTemplateException error = assertThrows(ChatTemplateException.class, () -> new ChatTemplate(source));
        assertTrue(error.getMessage().startsWith("chat template does not parse: line 1"), error.getMessage());
        assertTrue(error.getMessage().contains(expectedPart), error.getMessage());
        assertFalse(error.raisedByTemplate());
    }

    @Test
    void renderingErrorsNameTheProblem() {
        ChatTemplateException error = assertThrows(ChatTemplateException.class,
                () -> render("{{ no_such_function(1) }}"));
        assertTrue(error.getMessage().contains("no_such_function"), error.getMessage());
        assertFalse(error.raisedByTemplate());
    }

    @Test
    void chatMlFallbackForModelsWithoutATemplate() {
        List<Map<String, Object>> messages = ChatMessage.toTemplateMaps(
                List.of(ChatMessage.system("Be brief."), ChatMessage.user("Hi")));
        String expected = "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n"
                + "<|im_start|>assistant\n";
        assertEquals(expected, ChatTemplate.forModel(null).render(messages, null, true, Map.of()));
        assertEquals(expected, ChatTemplate.chatMl().render(messages, null, true, null));
    }

    @Test
    void chatMessageLeavesAbsentFieldsUndefined() {
        ChatTemplate template = new ChatTemplate(
                "{% for m in messages %}{{ 'tool_calls' in m }}{{ m.tool_call_id is defined }};{% endfor %}");
        List<Map<String, Object>> messages = ChatMessage.toTemplateMaps(List.of(
                ChatMessage.user("hi"),
                new ChatMessage("assistant", null, List.of(Map.of("id", "c1", "type", "function",
                        "function", Map.of("name", "f", "arguments", Map.of()))), null, null, null),
                ChatMessage.tool("c1", "f", "{}")));
        assertEquals("FalseFalse;TrueFalse;FalseTrue;", template.render(messages, null, false, null));
    }

    @Test
    void rendersTheTinyLlama3ModelsOwnTemplate() throws Exception {
        String source;
        try (GgufFile gguf = GgufReader.read(SharedData.model("tiny-llama3-q4_0.gguf"))) {
            source = gguf.getString("tokenizer.chat_template");
        }
        ChatTemplate template = new ChatTemplate(source, NOV_22_2026);
        List<Map<String, Object>> messages = ChatMessage.toTemplateMaps(
                List.of(ChatMessage.system("Be brief."), ChatMessage.user("Hi")));
        String prompt = template.render(messages, null, true, Map.of("bos_token", "<|begin_of_text|>"));
        assertEquals("<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n"
                + "Cutting Knowledge Date: December 2023\nToday Date: 22 Nov 2026\n\n"
                + "Be brief.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>"
                + "<|start_header_id|>assistant<|end_header_id|>\n\n", prompt);
    }

    @Test
    void renderIsFastEnoughPerRequest() {
        ChatTemplate template = new ChatTemplate(
                "{%- for m in messages %}{{ '<|' + m.role + '|>\\n' + m.content|trim + '<|end|>\\n' }}{% endfor %}");
        for (int i = 0; i < 500; i++) {
            template.render(MESSAGES, null, true, null);
        }
        int renders = 500;
        long start = System.nanoTime();
        for (int i = 0; i < renders; i++) {
            template.render(MESSAGES, null, true, null);
        }
        double millisPerRender = (System.nanoTime() - start) / 1e6 / renders;
        assertTrue(millisPerRender < 3, "render took " + millisPerRender + " ms");
    }
}
