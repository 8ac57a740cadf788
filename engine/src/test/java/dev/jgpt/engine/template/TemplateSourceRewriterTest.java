package dev.jgpt.engine.template;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class TemplateSourceRewriterTest {

    @Test
    void extendedSlicesBecomeSliceCalls() {
        assertEquals("{% for m in messages.__jgpt_slice__(none, none, -1) %}",
                TemplateSourceRewriter.rewrite("{% for m in messages[::-1] %}"));
        assertEquals("{{ x.__jgpt_slice__(1, n - 1, 2)[0] }}", TemplateSourceRewriter.rewrite("{{ x[1:n - 1:2][0] }}"));
    }

    @Test
    void leavesTextStringsAndOrdinarySubscriptsAlone() {
        String source = "a[::-1] {{ 'x[::-1]' + y[1:] + z[-1] + [1, 2]|string }} {# c[::2] #}";
        assertEquals(source, TemplateSourceRewriter.rewrite(source));
    }

    @Test
    void dropsOneTrailingNewlineLikeJinja2() {
        assertEquals("x\n", TemplateSourceRewriter.rewrite("x\n\n"));
        assertEquals("x", TemplateSourceRewriter.rewrite("x\r\n"));
    }

    @Test
    void separatesBracesThatWouldEndAnExpressionEarly() {
        assertEquals("{{ {'a': {} } }}", TemplateSourceRewriter.rewrite("{{ {'a': {}} }}"));
        assertEquals("{{ '}}' }}", TemplateSourceRewriter.rewrite("{{ '}}' }}"));
    }
}
