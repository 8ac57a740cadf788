package dev.jgpt.engine.template;

import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.LegacyOverrides;
import com.hubspot.jinjava.el.JinjavaInterpreterResolver;
import com.hubspot.jinjava.interpret.Context;
import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.interpret.TemplateError;
import com.hubspot.jinjava.lib.fn.ELFunctionDefinition;
import com.hubspot.jinjava.tree.Node;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import jinjava.javax.el.CompositeELResolver;

/**
 * A model's chat template ({@code tokenizer.chat_template}, Jinja) that turns a conversation into the prompt
 * text the model was trained on. Rendered by Jinjava configured as Hugging Face transformers renders
 * templates with Python's jinja2: trim_blocks and lstrip_blocks, loop controls, HF's {@code tojson},
 * {@code raise_exception} and {@code strftime_now}, and the Python string/list behaviour templates rely on.
 *
 * <p>Parsed once; {@link #render} is safe to call from many threads.
 */
public final class ChatTemplate {

    /**
     * The template used when a model has none, the same ChatML layout llama.cpp falls back to:
     * {@code <|im_start|>role\ncontent<|im_end|>\n} per message.
     */
    public static final String CHATML_SOURCE = """
            {%- for message in messages -%}
                {{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' -}}
            {%- endfor -%}
            {%- if add_generation_prompt -%}
                {{- '<|im_start|>assistant\\n' -}}
            {%- endif -%}
            """;

    private static final JinjavaConfig CONFIG = JinjavaConfig.newBuilder()
            .withTrimBlocks(true)
            .withLstripBlocks(true)
            .withEnableRecursiveMacroCalls(true)
            .withMaxMacroRecursionDepth(64)
            .withNestedInterpretationEnabled(false)
            .withFailOnUnknownTokens(false)
            .withLegacyOverrides(LegacyOverrides.newBuilder()
                    .withEvaluateMapKeys(true)          // {"type": t}: keys are expressions, as in Jinja2
                    .withIterateOverMapKeys(true)       // for k in dict: keys, as in Python
                    .withUsePyishObjectMapper(true)
                    .withUseNaturalOperatorPrecedence(true)
                    .withParseWhitespaceControlStrictly(true)
                    .withAllowAdjacentTextNodes(true)
                    .withUseTrimmingForNotesAndExpressions(true)   // {{- x -}} and {#- -#} trim like Jinja2
                    .withKeepNullableLoopValues(true)
                    .build())
            .withElResolver(pythonAwareResolver())
            .withInterperterFactory(PythonOutputInterpreter.FACTORY)
            .build();

    private static final ChatTemplateEngine JINJAVA = createJinjava();

    private final String source;
    private final Clock clock;
    private final Node root;

    public ChatTemplate(String source) {
        this(source, Clock.systemDefaultZone());
    }

    public ChatTemplate(String source, Clock clock) {
        this.source = Objects.requireNonNull(source, "source");
        this.clock = Objects.requireNonNull(clock, "clock");
        String rewritten = TemplateSourceRewriter.rewrite(source);
        JinjavaInterpreter parser = JINJAVA.newInterpreter();
        this.root = parser.parse(rewritten);
        List<TemplateError> fatal = fatalErrors(parser.getErrorsCopy());
        if (!fatal.isEmpty()) {
            throw new ChatTemplateException("chat template does not parse: " + describe(fatal), false);
        }
        List<String> problems = TemplateValidator.problems(rewritten, JINJAVA.getGlobalContext(),
                JINJAVA.expressionTrees());
        if (!problems.isEmpty()) {
            throw new ChatTemplateException("chat template does not parse: " + String.join("; ", problems), false);
        }
    }

    /** The ChatML fallback for models whose GGUF has no {@code tokenizer.chat_template}. */
    public static ChatTemplate chatMl() {
        return new ChatTemplate(CHATML_SOURCE);
    }

    /** The model's template, or {@link #chatMl()} when it has none (null or blank). */
    public static ChatTemplate forModel(String chatTemplateOrNull) {
        return chatTemplateOrNull == null || chatTemplateOrNull.isBlank() ? chatMl() : new ChatTemplate(chatTemplateOrNull);
    }

    public String source() {
        return source;
    }

    /**
     * Renders a conversation.
     *
     * @param messages            maps with role, content (a String, or a list of {type:"text", text:...} parts),
     *                            and optionally tool_calls, tool_call_id, name, reasoning_content
     * @param tools               OpenAI-style tool definitions, or null
     * @param addGenerationPrompt whether to end with the header of an assistant turn for the model to complete
     * @param extra               other variables (bos_token, eos_token, enable_thinking, date_string, ...), or null
     * @throws ChatTemplateException when the template refuses the conversation (message = the template's) or
     *                               fails to render
     */
    public String render(List<Map<String, Object>> messages, List<Map<String, Object>> tools,
                         boolean addGenerationPrompt, Map<String, Object> extra) {
        Map<String, Object> bindings = new HashMap<>();
        if (extra != null) {
            bindings.putAll(extra);
        }
        bindings.put("messages", messages == null ? List.of() : messages);
        bindings.put("tools", tools);
        bindings.put("add_generation_prompt", addGenerationPrompt);
        bindings.put(TemplateFunctions.CLOCK_KEY, clock);
        // The functions are also variables, so that `strftime_now is defined` holds as it does for HF.
        bindings.put("raise_exception", TemplateFunctions.RAISE_EXCEPTION);
        bindings.put("strftime_now", TemplateFunctions.STRFTIME_NOW);

        Context context = new Context(JINJAVA.getGlobalContextCopy(), bindings, CONFIG.getDisabled());
        JinjavaInterpreter interpreter = CONFIG.getInterpreterFactory().newInstance(JINJAVA, context, CONFIG);
        JinjavaInterpreter.pushCurrent(interpreter);
        String output;
        try {
            output = interpreter.render(root);
        } catch (ChatTemplateException e) {
            throw e;
        } catch (RuntimeException e) {
            ChatTemplateException raised = raisedIn(e);
            if (raised != null) {
                throw raised;
            }
            throw new ChatTemplateException("chat template failed to render: " + e.getMessage(), e);
        } finally {
            JinjavaInterpreter.popCurrent();
        }
        List<TemplateError> fatal = fatalErrors(interpreter.getErrorsCopy());
        for (TemplateError error : fatal) {
            ChatTemplateException raised = raisedIn(error.getException());
            if (raised != null) {
                throw new ChatTemplateException(raised.getMessage(), true);
            }
        }
        if (!fatal.isEmpty()) {
            throw new ChatTemplateException("chat template failed to render: " + describe(fatal), false);
        }
        return output;
    }

    private static ChatTemplateException raisedIn(Throwable error) {
        for (Throwable t = error; t != null; t = t.getCause()) {
            if (t instanceof ChatTemplateException e && e.raisedByTemplate()) {
                return e;
            }
            if (t.getCause() == t) {
                break;
            }
        }
        return null;
    }

    private static List<TemplateError> fatalErrors(List<TemplateError> errors) {
        List<TemplateError> fatal = new ArrayList<>();
        for (TemplateError error : errors) {
            if (error.getSeverity() == TemplateError.ErrorType.FATAL) {
                fatal.add(error);
            }
        }
        return fatal;
    }

    private static String describe(List<TemplateError> errors) {
        StringBuilder text = new StringBuilder();
        for (TemplateError error : errors) {
            if (!text.isEmpty()) {
                text.append("; ");
            }
            text.append("line ").append(error.getLineno()).append(": ").append(error.getMessage());
        }
        return text.toString();
    }

    private static CompositeELResolver pythonAwareResolver() {
        CompositeELResolver resolver = new CompositeELResolver();
        resolver.add(new PythonMethodResolver());
        resolver.add(JinjavaInterpreterResolver.DEFAULT_RESOLVER_READ_WRITE);
        return resolver;
    }

    private static ChatTemplateEngine createJinjava() {
        ChatTemplateEngine jinjava = new ChatTemplateEngine(CONFIG);
        jinjava.registerTag(new PythonForTag());
        TemplateFilters.all().forEach(jinjava::registerFilter);
        PythonTypeChecks.all().forEach(jinjava::registerExpTest);
        jinjava.registerFunction(new ELFunctionDefinition("", "raise_exception",
                TemplateFunctions.class, "raiseException", Object.class));
        jinjava.registerFunction(new ELFunctionDefinition("", "strftime_now",
                TemplateFunctions.class, "strftimeNow", String.class));
        return jinjava;
    }
}
