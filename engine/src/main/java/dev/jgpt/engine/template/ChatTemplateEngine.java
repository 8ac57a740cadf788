package dev.jgpt.engine.template;

import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.el.TruthyTypeConverter;
import jinjava.de.odysseus.el.ExpressionFactoryImpl;
import jinjava.de.odysseus.el.tree.TreeStore;
import jinjava.de.odysseus.el.tree.impl.Builder;
import jinjava.de.odysseus.el.tree.impl.Cache;
import jinjava.javax.el.ExpressionFactory;

/**
 * Jinjava whose expressions are parsed by {@link Jinja2Parser}. Jinjava has no configuration option for the
 * parser, but every expression is compiled through {@link #getExpressionFactory()}, so this is where it goes.
 */
final class ChatTemplateEngine extends Jinjava {
    /** Compiled expressions are cached by source text; templates have a few hundred at most. */
    private static final int EXPRESSION_CACHE_SIZE = 2000;

    private final ExpressionFactory expressionFactory;
    private final TreeStore expressionTrees;

    ChatTemplateEngine(JinjavaConfig config) {
        super(config);
        // The features of JUEL's default JEE6 profile, which Jinjava's own factory uses.
        Builder builder = new Jinja2Parser.SyntaxBuilder(Builder.Feature.METHOD_INVOCATIONS, Builder.Feature.VARARGS);
        this.expressionTrees = new TreeStore(builder, new Cache(EXPRESSION_CACHE_SIZE));
        this.expressionFactory = new ExpressionFactoryImpl(expressionTrees, new TruthyTypeConverter());
    }

    /** Parses (and caches) expressions; used to check a template's expressions when it is loaded. */
    TreeStore expressionTrees() {
        return expressionTrees;
    }

    @Override
    public ExpressionFactory getExpressionFactory() {
        return expressionFactory;
    }
}
