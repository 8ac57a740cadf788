package dev.jgpt.engine.tensor;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

/**
 * The CPU's vendor, for the few kernel choices whose best option was measured to differ between AMD and
 * Intel cores (Linux: {@code /proc/cpuinfo}; elsewhere unknown, which selects the default choices).
 */
public final class CpuVendor {
    /** True on an AMD CPU ({@code vendor_id: AuthenticAMD}). */
    public static final boolean AMD = "AuthenticAMD".equals(vendorId());

    private CpuVendor() {
    }

    private static String vendorId() {
        Path cpuinfo = Path.of("/proc/cpuinfo");
        if (!Files.isReadable(cpuinfo)) {
            return "";
        }
        try (Stream<String> lines = Files.lines(cpuinfo)) {
            return lines.filter(l -> l.startsWith("vendor_id"))
                    .map(l -> l.substring(l.indexOf(':') + 1).trim())
                    .findFirst().orElse("");
        } catch (IOException | RuntimeException e) {
            return "";
        }
    }
}
