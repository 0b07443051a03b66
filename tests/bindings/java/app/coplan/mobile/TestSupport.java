package app.coplan.mobile;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.fail;

import app.coplan.client.v1.CachedDocument;
import app.coplan.client.v1.EditRequest;
import app.coplan.v1.EditOperation;
import app.coplan.v1.InsertItem;
import app.coplan.v1.Plan;
import app.coplan.v1.TextItem;
import app.coplan.v1.UpdateItem;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.lang.ref.WeakReference;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Predicate;

/** What the suite shares: the harness's environment, waiting, and recording listeners. */
final class TestSupport {
  private TestSupport() {}

  /** What listeners threw on the callback thread (the glue reports and clears it). */
  static final List<Throwable> LISTENER_FAILURES = new ArrayList<>();

  static {
    CoplanClient.setListenerErrorHandler(
        t -> {
          synchronized (LISTENER_FAILURES) {
            LISTENER_FAILURES.add(t);
          }
        });
  }

  static int listenerFailures() {
    synchronized (LISTENER_FAILURES) {
      return LISTENER_FAILURES.size();
    }
  }

  static String env(String name) {
    String value = System.getenv(name);
    if (value == null || value.isEmpty()) {
      throw new IllegalStateException(name + " is not set: run under coplan_binding_test_harness");
    }
    return value;
  }

  static String server() {
    return env("COPLAN_TEST_SERVER");
  }

  static String password() {
    return env("COPLAN_TEST_PASSWORD");
  }

  static String plan() {
    return env("COPLAN_TEST_PLAN");
  }

  static String cachePath(String name) {
    return env("COPLAN_TEST_DIR") + "/" + name;
  }

  /** A cache key for the tests (an app takes it from the Keystore). */
  static byte[] key(int seed) {
    byte[] key = new byte[32];
    for (int i = 0; i < key.length; ++i) key[i] = (byte) (i * 7 + seed);
    return key;
  }

  static CoplanClient.Options options(String cache, int seed) {
    CoplanClient.Options options =
        new CoplanClient.Options(server())
            .setTls(false)
            .setDeviceName("Java test phone")
            .setUserAgent("coplan-android-test/1")
            .setCallDeadlineMillis(3000)
            .setMaxBackoffMillis(300);
    if (cache != null) options.setCache(cachePath(cache), key(seed));
    return options;
  }

  /** Sends a command to the harness's control socket ("stop", "start", "ping"). */
  static void control(String command) throws IOException {
    String[] address = env("COPLAN_TEST_CONTROL").split(":");
    try (Socket socket = new Socket(address[0], Integer.parseInt(address[1]))) {
      socket.setSoTimeout(120_000);
      OutputStream out = socket.getOutputStream();
      out.write((command + "\n").getBytes(StandardCharsets.UTF_8));
      out.flush();
      BufferedReader in =
          new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.UTF_8));
      assertEquals("ok", in.readLine(), "harness: " + command);
    }
  }

  /** The future's value, or fails the test with its error. */
  static <T> T await(CompletableFuture<T> future) {
    try {
      return future.get(60, TimeUnit.SECONDS);
    } catch (ExecutionException e) {
      throw new AssertionError("the call failed: " + e.getCause(), e.getCause());
    } catch (InterruptedException | TimeoutException e) {
      throw new AssertionError("no answer in 60 s", e);
    }
  }

  /** The CoplanException the future fails with (fails the test if it succeeds). */
  static CoplanException failure(CompletableFuture<?> future) {
    try {
      Object value = future.get(60, TimeUnit.SECONDS);
      throw new AssertionError("expected a CoplanException, got " + value);
    } catch (ExecutionException e) {
      CoplanException error = CoplanException.unwrap(e);
      assertNotNull(error, "failed with something else: " + e.getCause());
      return error;
    } catch (InterruptedException | TimeoutException e) {
      throw new AssertionError("no answer in 60 s", e);
    }
  }

  static Value text(String text) {
    return Value.newBuilder().setStringValue(text).build();
  }

  /** An edit inserting a warning sign. */
  static EditRequest insertWarningSign(String document, String sign) {
    Value item =
        Value.newBuilder()
            .setStructValue(Struct.newBuilder().putFields("text", text(sign)))
            .build();
    return EditRequest.newBuilder()
        .setDocument(document)
        .addOperations(
            EditOperation.newBuilder()
                .setInsertItem(
                    InsertItem.newBuilder()
                        .setListPath("crisis_plan.warning_signs")
                        .setItem(item)))
        .build();
  }

  /** An operation rewording a list item. */
  static EditOperation reword(String itemPath, String words) {
    return EditOperation.newBuilder()
        .setUpdateItem(
            UpdateItem.newBuilder()
                .setItemPath(itemPath)
                .setFields(Struct.newBuilder().putFields("text", text(words))))
        .build();
  }

  static List<String> warningSigns(Plan plan) {
    List<String> signs = new ArrayList<>();
    for (TextItem item : plan.getCrisisPlan().getWarningSignsList()) signs.add(item.getText());
    return signs;
  }

  static List<String> warningSigns(CachedDocument document) {
    return warningSigns(document.getDocument().getPlan());
  }

  /** Waits until the reference is cleared, collecting garbage meanwhile. */
  static boolean collected(WeakReference<?> reference) throws InterruptedException {
    for (int i = 0; i < 100 && reference.get() != null; ++i) {
      System.gc();
      Thread.sleep(20);
    }
    return reference.get() == null;
  }

  /** Waits until no JNI global reference for a callback or listener is left. */
  static int liveGlobalRefsAfterWaiting() throws InterruptedException {
    for (int i = 0; i < 200 && NativeBridge.nativeLiveGlobalRefs() != 0; ++i) Thread.sleep(10);
    return NativeBridge.nativeLiveGlobalRefs();
  }

  /** Everything a listener heard, to wait on. */
  static final class Recorder implements DocumentListener, ClientListener {
    private final List<Object> events = new ArrayList<>();

    private synchronized void add(Object event) {
      events.add(event);
      notifyAll();
    }

    @Override
    public void onDocument(CachedDocument document) {
      add(document);
    }

    @Override
    public void onPresence(app.coplan.v1.PresenceUpdate presence) {
      add(presence);
    }

    @Override
    public void onEnded(CoplanException reason) {
      add(reason);
    }

    @Override
    public void onConflict(app.coplan.client.v1.Conflict conflict) {
      add(conflict);
    }

    @Override
    public void onRefused(app.coplan.client.v1.RefusedBatch refused, CoplanException reason) {
      add(refused);
    }

    @Override
    public void onAccepted(app.coplan.client.v1.AcceptedBatch accepted) {
      add(accepted);
    }

    @Override
    public void onConnectivity(boolean online) {
      add(online);
    }

    @Override
    public void onSignedOut(CoplanException reason) {
      add(reason);
    }

    /** Waits for an event of this type that matches; fails the test after 30 s. */
    <T> T waitFor(Class<T> type, Predicate<T> match, String what) throws InterruptedException {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      synchronized (this) {
        while (true) {
          for (Object event : events) {
            if (type.isInstance(event) && match.test(type.cast(event))) return type.cast(event);
          }
          long left = deadline - System.nanoTime();
          if (left <= 0) break;
          wait(Math.max(1, TimeUnit.NANOSECONDS.toMillis(left)));
        }
        fail("never heard " + what + "; heard " + events.size() + " events: " + last());
        return null;
      }
    }

    private String last() {
      return events.isEmpty() ? "(none)" : String.valueOf(events.get(events.size() - 1));
    }
  }
}
