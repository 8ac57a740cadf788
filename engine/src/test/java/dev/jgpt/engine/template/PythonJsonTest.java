package dev.jgpt.engine.template;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Expected strings are Python's json.dumps output for the same values. */
class PythonJsonTest {

    @Test
    void floatsPrintLikePythonRepr() {
        assertEquals("1.0", PythonJson.pythonFloatRepr(1.0));
        assertEquals("0.1", PythonJson.pythonFloatRepr(0.1));
        assertEquals("1e-05", PythonJson.pythonFloatRepr(0.00001));
        assertEquals("0.0001", PythonJson.pythonFloatRepr(0.0001));
        assertEquals("1e+16", PythonJson.pythonFloatRepr(1e16));
        assertEquals("1234567890123456.0", PythonJson.pythonFloatRepr(1234567890123456.0));
        assertEquals("-2.5", PythonJson.pythonFloatRepr(-2.5));
        assertEquals("1.5e-07", PythonJson.pythonFloatRepr(1.5e-7));
    }

    @Test
    void keepsNonAsciiAndEscapesControlCharacters() {
        assertEquals("\"请 é \\\"q\\\" \\\\ \\n \\u0001\"", PythonJson.dumps("请 é \"q\" \\ \n \u0001"));
        assertEquals("\"\\u8bf7\"", PythonJson.dumps("请",
                PythonJson.Format.of(null, null, false, true)));
    }

    @Test
    void separatorsAndIndentFollowPythonDefaults() {
        Map<String, Object> value = new LinkedHashMap<>();
        value.put("b", Arrays.asList(1, null, true));
        value.put("a", Map.of());
        assertEquals("{\"b\": [1, null, true], \"a\": {}}", PythonJson.dumps(value));
        assertEquals("{\n    \"b\": [\n        1,\n        null,\n        true\n    ],\n    \"a\": {}\n}",
                PythonJson.dumps(value, PythonJson.Format.of("    ", null, false, false)));
        assertEquals("{\"a\":{},\"b\":[1,null,true]}",
                PythonJson.dumps(value, PythonJson.Format.of(null, List.of(",", ":"), true, false)));
    }
}
