package dev.kizuna.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The daemon-finding rule, in temporary homes and with an environment of the test's own. */
class KizunaChannelsTest {

  @TempDir Path tmp;

  /** Only what a test sets: the machine's own KIZUNA_* and XDG_* never leak in. */
  private final Map<String, String> env = new HashMap<>();

  private Path home;

  @BeforeEach
  void setUp() throws IOException {
    env.put("HOME", tmp.resolve("user").toString());
    home = tmp.resolve("home");
    Files.createDirectories(home.resolve("run"));
    Files.createDirectories(home.resolve("data"));
    env.put("KIZUNA_HOME", home.toString());
  }

  private void daemonJson(String... endpoints) throws IOException {
    List<String> parts = new ArrayList<>(List.of(endpoints));
    Files.writeString(
        home.resolve("run/daemon.json"),
        "{\"pid\": 1, \"run_id\": \"r\", \"endpoints\": [" + String.join(", ", parts) + "]}");
  }

  private static String endpoint(String transport, String address, String extra) {
    return "{\"transport\": \""
        + transport
        + "\", \"address\": \""
        + address
        + "\""
        + extra
        + "}";
  }

  private KizunaTarget resolve() {
    return KizunaChannels.resolve(null, null, null, env);
  }

  @Test
  void daemonJsonUnixEndpointIsPreferred() throws IOException {
    daemonJson(endpoint("tcp", "127.0.0.1:4000", ""), endpoint("unix", "/somewhere/else.sock", ""));
    KizunaTarget target = resolve();
    assertEquals("unix:/somewhere/else.sock", target.target());
    assertEquals(Path.of("/somewhere/else.sock"), target.socket());
    assertNull(target.token());
  }

  @Test
  void defaultSocketWithoutDaemonJson() {
    assertEquals(home.resolve("run/kizuna.sock"), resolve().socket());
  }

  @Test
  void aBrokenDaemonJsonFallsBackToTheDefaultSocket() throws IOException {
    Files.writeString(home.resolve("run/daemon.json"), "{\"endpoints\": [");
    assertEquals(home.resolve("run/kizuna.sock"), resolve().socket());
    Files.writeString(home.resolve("run/daemon.json"), "[1, 2]");
    assertEquals(home.resolve("run/kizuna.sock"), resolve().socket());
  }

  @Test
  void kizunaTargetBeatsDaemonJsonAndAnExplicitTargetBeatsBoth() throws IOException {
    daemonJson(endpoint("unix", "/from/daemon.json", ""));
    env.put("KIZUNA_TARGET", "unix:/from/env.sock");
    assertEquals(Path.of("/from/env.sock"), resolve().socket());
    KizunaTarget explicit = KizunaChannels.resolve("unix:///explicit.sock", null, null, env);
    assertEquals(Path.of("/explicit.sock"), explicit.socket());
  }

  @Test
  void theXdgLayoutWithoutAHome() {
    env.remove("KIZUNA_HOME");
    env.put("XDG_RUNTIME_DIR", "/run/user/1234");
    assertEquals(Path.of("/run/user/1234/kizuna/kizuna.sock"), resolve().socket());
    KizunaLayout layout = KizunaLayout.resolve(null, env);
    assertEquals(tmp.resolve("user/.local/share/kizuna/api-token"), layout.tokenFile());
    env.put("XDG_DATA_HOME", "/data/home");
    assertEquals(Path.of("/data/home/kizuna"), KizunaLayout.resolve(null, env).dataDir());
  }

  @Test
  void relativeXdgValuesAreIgnored() {
    env.remove("KIZUNA_HOME");
    env.put("XDG_RUNTIME_DIR", "relative/run");
    env.put("XDG_DATA_HOME", "relative/data");
    KizunaLayout layout = KizunaLayout.resolve(null, env);
    String runtime = layout.runtimeDir().toString();
    assertTrue(runtime.matches("/tmp/kizuna-\\d+"), runtime);
    assertEquals(tmp.resolve("user/.local/share/kizuna"), layout.dataDir());
  }

  @Test
  void anExplicitHomeBeatsKizunaHome() {
    KizunaLayout layout = KizunaLayout.resolve(tmp.resolve("other").toString(), env);
    assertEquals(tmp.resolve("other/run/kizuna.sock"), layout.socketPath());
  }

  @Test
  void tcpReadsTheTokenFromTheDataDirectory() throws IOException {
    Files.writeString(home.resolve("data/api-token"), "  secret-from-data\n");
    env.put("KIZUNA_TARGET", "127.0.0.1:4000");
    KizunaTarget target = resolve();
    assertFalse(target.isUnix());
    assertEquals("127.0.0.1", target.host());
    assertEquals(4000, target.port());
    assertEquals("secret-from-data", target.token());
    assertFalse(target.toString().contains("secret"), target.toString());
  }

  @Test
  void tcpTokenFileOrder() throws IOException {
    Files.writeString(home.resolve("data/api-token"), "from-data");
    Path published = tmp.resolve("published-token");
    Files.writeString(published, "from-daemon-json");
    daemonJson(
        endpoint("unix", "/x.sock", ""),
        endpoint("tcp", "127.0.0.1:4000", ", \"token_file\": \"" + published + "\""));
    env.put("KIZUNA_TARGET", "localhost:4000");
    assertEquals("from-daemon-json", resolve().token());
    Path named = tmp.resolve("named-token");
    Files.writeString(named, "from-env");
    env.put("KIZUNA_TOKEN_FILE", named.toString());
    assertEquals("from-env", resolve().token());
    assertEquals("given", KizunaChannels.resolve(null, "given", null, env).token());
  }

  @Test
  void aMissingTokenFileIsAClearError() {
    env.put("KIZUNA_TARGET", "[::1]:4000");
    IllegalArgumentException error = assertThrows(IllegalArgumentException.class, this::resolve);
    String message = error.getMessage();
    assertTrue(message.contains(home.resolve("data/api-token").toString()), message);
    assertTrue(message.contains("token"), message);
  }

  @Test
  void tokenFilesAreReadOnlyForLoopbackTargets() throws IOException {
    Files.writeString(home.resolve("data/api-token"), "secret");
    env.put("KIZUNA_TARGET", "192.0.2.1:4000");
    IllegalArgumentException error = assertThrows(IllegalArgumentException.class, this::resolve);
    assertTrue(error.getMessage().contains("loopback"), error.getMessage());
    env.put("KIZUNA_TARGET", "daemon.example:4000");
    assertThrows(IllegalArgumentException.class, this::resolve);
    // An explicit token goes anywhere the program says.
    assertEquals("given", KizunaChannels.resolve(null, "given", null, env).token());
  }

  @Test
  void targetForms() {
    assertEquals(Path.of("/a/b.sock"), KizunaTarget.parse("unix:/a/b.sock", null).socket());
    assertEquals(Path.of("/a/b.sock"), KizunaTarget.parse("unix:///a/b.sock", null).socket());
    KizunaTarget v6 = KizunaTarget.parse("ipv6:[::1]:5000", null);
    assertEquals("::1", v6.host());
    assertEquals(5000, v6.port());
    assertEquals("localhost", KizunaTarget.parse("dns:///localhost:1", null).host());
    for (String bad : new String[] {"unix:", "localhost", "localhost:", "host:port", ":5", "h:0"}) {
      assertThrows(IllegalArgumentException.class, () -> KizunaTarget.parse(bad, null), bad);
    }
  }

  @Test
  void loopback() {
    for (String host : new String[] {"127.0.0.1:1", "127.9.8.7:1", "[::1]:1", "LOCALHOST:1"}) {
      assertTrue(KizunaTarget.parse(host, null).isLoopback(), host);
    }
    for (String host : new String[] {"10.0.0.1:1", "[2001:db8::1]:1", "localhost.example:1"}) {
      assertFalse(KizunaTarget.parse(host, null).isLoopback(), host);
    }
  }
}
