package dev.jgpt.engine.template;

import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.interpret.Context;
import com.hubspot.jinjava.interpret.InterpreterFactory;
import com.hubspot.jinjava.interpret.JinjavaInterpreter;

/**
 * Prints booleans as Python does ({@code {{ flag }}} gives "True"), since the prompt text is compared token for
 * token with what Hugging Face renders; Jinjava would print "true".
 */
final class PythonOutputInterpreter extends JinjavaInterpreter {

    static final InterpreterFactory FACTORY = new InterpreterFactory() {
        @Override
        public JinjavaInterpreter newInstance(JinjavaInterpreter original) {
            return new PythonOutputInterpreter(original);
        }

        @Override
        public JinjavaInterpreter newInstance(Jinjava application, Context context, JinjavaConfig config) {
            return new PythonOutputInterpreter(application, context, config);
        }
    };

    private PythonOutputInterpreter(Jinjava application, Context context, JinjavaConfig config) {
        super(application, context, config);
    }

    private PythonOutputInterpreter(JinjavaInterpreter original) {
        super(original);
    }

    @Override
    public String getAsString(Object object) {
        if (object instanceof Boolean b) {
            return b ? "True" : "False";
        }
        return super.getAsString(object);
    }
}
