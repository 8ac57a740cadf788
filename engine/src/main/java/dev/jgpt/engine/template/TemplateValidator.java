package dev.jgpt.engine.template;

import com.hubspot.jinjava.interpret.Context;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import jinjava.de.odysseus.el.tree.TreeBuilderException;
import jinjava.de.odysseus.el.tree.TreeStore;

/**
 * Finds, when a template is loaded, the mistakes Jinja2 reports at compile time but Jinjava only at render
 * time or never: expressions that do not parse, and unknown filters or tests (Jinjava silently renders
 * nothing for {@code x|nosuchfilter}).
 */
final class TemplateValidator {
    private static final Pattern FILTER = Pattern.compile("\\|\\s*([A-Za-z_][A-Za-z0-9_]*)");
    private static final Pattern TEST = Pattern.compile("\\bis\\s+(?:not\\s+)?([A-Za-z_][A-Za-z0-9_]*)");
    private static final Pattern CONDITION_TAG = Pattern.compile("^(?:if|elif)\\s+(.*)$", Pattern.DOTALL);

    private TemplateValidator() {
    }

    /** Problems found in the (already rewritten) source, each naming its line; empty when none. */
    static List<String> problems(String source, Context registry, TreeStore expressions) {
        List<String> problems = new ArrayList<>();
        for (TemplateSourceRewriter.TagBody tag : TemplateSourceRewriter.tagBodies(source)) {
            String body = TemplateSourceRewriter.stripWhitespaceControl(tag.body());
            String code = blankStrings(body);
            Matcher filter = FILTER.matcher(code);
            while (filter.find()) {
                if (registry.getFilter(filter.group(1)) == null) {
                    problems.add("line " + tag.line() + ": no filter named '" + filter.group(1) + "'");
                }
            }
            Matcher test = TEST.matcher(code);
            while (test.find()) {
                if (registry.getExpTest(test.group(1)) == null) {
                    problems.add("line " + tag.line() + ": no test named '" + test.group(1) + "'");
                }
            }
            String expression = null;
            if (tag.kind() == '{') {
                expression = body;
            } else {
                Matcher condition = CONDITION_TAG.matcher(body);
                if (condition.matches()) {
                    expression = condition.group(1);
                }
            }
            if (expression != null) {
                try {
                    expressions.get("#{" + expression + "}");
                } catch (TreeBuilderException e) {
                    problems.add("line " + tag.line() + ": cannot parse '" + expression + "': " + e.getMessage());
                }
            }
        }
        return problems;
    }

    /** The text with string literals' contents replaced by spaces, so '|' and 'is' inside them are ignored. */
    private static String blankStrings(String text) {
        StringBuilder out = new StringBuilder(text.length());
        char quote = 0;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (quote != 0) {
                if (c == '\\' && i + 1 < text.length()) {
                    out.append("  ");
                    i++;
                    continue;
                }
                if (c == quote) {
                    quote = 0;
                    out.append(c);
                } else {
                    out.append(' ');
                }
            } else {
                if (c == '\'' || c == '"') {
                    quote = c;
                }
                out.append(c);
            }
        }
        return out.toString();
    }
}
