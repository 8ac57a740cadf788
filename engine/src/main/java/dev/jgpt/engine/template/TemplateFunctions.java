package dev.jgpt.engine.template;

import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.objects.date.StrftimeFormatter;
import java.time.Clock;
import java.time.ZonedDateTime;
import java.util.Locale;

/** The globals Hugging Face gives chat templates: {@code raise_exception(msg)} and {@code strftime_now(fmt)}. */
final class TemplateFunctions {
    /** Context variable holding the render's clock, so that strftime_now is testable and per template. */
    static final String CLOCK_KEY = "__jgpt_clock__";

    static final FunctionName RAISE_EXCEPTION = new FunctionName("raise_exception");
    static final FunctionName STRFTIME_NOW = new FunctionName("strftime_now");

    /** What a template sees when it reads one of these functions as a variable. */
    record FunctionName(String name) {
        @Override
        public String toString() {
            return "<function " + name + ">";
        }
    }

    private TemplateFunctions() {
    }

    public static Object raiseException(Object message) {
        throw new ChatTemplateException(String.valueOf(message), true);
    }

    public static String strftimeNow(String format) {
        JinjavaInterpreter interpreter = JinjavaInterpreter.getCurrent();
        Clock clock = interpreter != null && interpreter.getContext().get(CLOCK_KEY) instanceof Clock c
                ? c : Clock.systemDefaultZone();
        return StrftimeFormatter.format(ZonedDateTime.now(clock), format, Locale.ENGLISH);
    }
}
