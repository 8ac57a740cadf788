package dev.jgpt.engine.template;

import com.hubspot.jinjava.el.ExtendedSyntaxBuilder;
import com.hubspot.jinjava.el.ext.ExtendedParser;
import com.hubspot.jinjava.el.ext.NamedParameterOperator;
import jinjava.de.odysseus.el.tree.impl.Builder;
import jinjava.de.odysseus.el.tree.impl.Parser;
import jinjava.de.odysseus.el.tree.impl.Scanner;
import jinjava.de.odysseus.el.tree.impl.Scanner.Symbol;
import jinjava.de.odysseus.el.tree.Bindings;
import jinjava.de.odysseus.el.tree.impl.ast.AstBinary;
import jinjava.de.odysseus.el.tree.impl.ast.AstNode;
import jinjava.de.odysseus.el.tree.impl.ast.AstUnary;
import jinjava.javax.el.ELContext;

/**
 * Jinjava's expression parser with Jinja2's precedence in the two places chat templates notice:
 * <ul>
 *   <li>{@code not} takes a whole comparison or test: {@code not tools is none} is {@code not (tools is none)}
 *       and {@code not x|length == 1} is {@code not (x|length == 1)}. Jinjava applies {@code not} to the next
 *       value only, so Llama 3's {@code {% if not tools is defined %}} would always drop the tools.</li>
 *   <li>A keyword argument's value is a whole expression: {@code namespace(last=messages|length - 1)}. Jinjava
 *       reads {@code (last=messages|length) - 1} and fails.</li>
 *   <li>{@code a and b} gives {@code a} when it is falsy, else {@code b}, as Python does (Jinjava's {@code or}
 *       already works so), rather than a boolean.</li>
 * </ul>
 */
final class Jinja2Parser extends ExtendedParser {

    Jinja2Parser(Builder context, String input) {
        super(context, input);
    }

    @Override
    protected AstNode unary(boolean required) throws Scanner.ScanException, Parser.ParseException {
        if (getToken().getSymbol() == Symbol.NOT) {
            consumeToken();
            return createAstUnary(eq(true), AstUnary.NOT);
        }
        return super.unary(required);
    }

    @Override
    protected AstNode add(boolean required) throws Scanner.ScanException, Parser.ParseException {
        if (getToken().getSymbol() == Symbol.IDENTIFIER && isKeywordEquals(lookahead(0))) {
            AstNode name = identifier(consumeToken().getImage());
            consumeToken(); // '='
            return NamedParameterOperator.HANDLER.createAstNode(name, expr(true));
        }
        return super.add(required);
    }

    @Override
    protected AstBinary createAstBinary(AstNode left, AstNode right, AstBinary.Operator operator) {
        return super.createAstBinary(left, right, operator == AstBinary.AND ? PYTHON_AND : operator);
    }

    private static final AstBinary.Operator PYTHON_AND = new AstBinary.Operator() {
        @Override
        public Object eval(Bindings bindings, ELContext context, AstNode left, AstNode right) {
            Object leftValue = left.eval(bindings, context);
            return bindings.convert(leftValue, Boolean.class) ? right.eval(bindings, context) : leftValue;
        }

        @Override
        public String toString() {
            return "&&";
        }
    };

    private static boolean isKeywordEquals(Scanner.Token token) {
        return token.getSymbol() == Symbol.EXTENSION && "=".equals(token.getImage());
    }

    /** Builds expression trees with {@link Jinja2Parser}; plugged into Jinjava by {@link ChatTemplateEngine}. */
    static final class SyntaxBuilder extends ExtendedSyntaxBuilder {
        SyntaxBuilder(Feature... features) {
            super(features);
        }

        @Override
        protected Parser createParser(String expression) {
            return new Jinja2Parser(this, expression);
        }
    }
}
