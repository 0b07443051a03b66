package app.coplan.examples;

import app.coplan.client.v1.CachedDocument;
import app.coplan.mobile.CoplanClient;
import app.coplan.mobile.CoplanException;
import app.coplan.v1.CrisisPlan;
import app.coplan.v1.ListPlansRequest;
import app.coplan.v1.ListPlansResponse;
import app.coplan.v1.Plan;
import app.coplan.v1.TextItem;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.time.Instant;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * A console crisis-plan viewer that works offline: shows the person's crisis plan from the
 * device's encrypted cache, and refreshes it when the server answers.
 *
 * <pre>
 *   crisis-plan-viewer [--plaintext] server cache-file key-file [username password] [plan]
 * </pre>
 *
 * <p>The first run signs in (username, password) and keeps the plan on the device; later
 * runs need neither the server nor the password. On Android the 32-byte cache key comes
 * from the Keystore (see the README); this desktop example keeps it in {@code key-file},
 * created at random with owner-only permissions on the first run. Never hard-code it.
 */
public final class CrisisPlanViewer {
  private CrisisPlanViewer() {}

  public static void main(String[] args) throws Exception {
    int first = 0;
    boolean tls = true;
    if (args.length > 0 && args[0].equals("--plaintext")) {
      tls = false;
      first = 1;
    }
    if (args.length - first < 3) {
      System.err.println(
          "usage: crisis-plan-viewer [--plaintext] <server> <cache file> <key file>"
              + " [<username> <password>] [<plan name>]");
      System.exit(2);
    }
    String server = args[first];
    String cache = args[first + 1];
    byte[] key = loadOrCreateKey(Paths.get(args[first + 2]));
    String username = args.length - first >= 5 ? args[first + 3] : null;
    String password = args.length - first >= 5 ? args[first + 4] : null;
    String plan = args.length - first == 4 ? args[first + 3] : null;
    if (args.length - first >= 6) plan = args[first + 5];

    CoplanClient.Options options =
        new CoplanClient.Options(server)
            .setTls(tls)
            .setCache(cache, key)
            .setDeviceName("crisis-plan-viewer")
            .setUserAgent("coplan-crisis-plan-viewer/1")
            .setCallDeadlineMillis(3000)
            .setMaxBackoffMillis(1000);
    try (CoplanClient client = CoplanClient.open(options)) {
      if (!client.session().getSignedIn()) {
        if (username == null || password == null) {
          System.err.println("Not signed in on this device: give a username and password.");
          System.exit(1);
        }
        System.out.println("Signed in as " + get(client.signIn(username, password)).getPerson());
      }
      if (plan == null) plan = findCrisisPlan(client);
      if (plan == null) {
        System.err.println("No crisis plan given, and the server could not list them.");
        System.exit(1);
      }
      // Keep it on the device and up to date; wait a little for the server, then show
      // whatever the device has.
      client.follow(plan, document -> {});
      try {
        client.flush(3000).get(5, TimeUnit.SECONDS);
      } catch (ExecutionException | TimeoutException e) {
        System.out.println("(offline: showing the copy on this device)");
      }
      show(get(client.getDocument(plan)));
    } catch (CoplanException e) {
      System.err.println("Coplan: " + e.getCode() + ": " + e.getStatus().getMessage());
      if (e.getCode() == CoplanException.Code.DATA_LOSS) {
        System.err.println("The cache cannot be read with this key: delete it and sign in again.");
      }
      System.exit(1);
    }
  }

  private static String findCrisisPlan(CoplanClient client) {
    try {
      ListPlansResponse plans =
          get(
              client.call(
                  "coplan.v1.PlanService/ListPlans",
                  ListPlansRequest.newBuilder().setParent("people/me").build(),
                  ListPlansResponse.getDefaultInstance()));
      for (Plan p : plans.getPlansList()) {
        if (p.hasCrisisPlan()) return p.getName();
      }
    } catch (CoplanException e) {
      return null;
    }
    return null;
  }

  private static void show(CachedDocument cached) {
    Plan plan = cached.getDocument().getPlan();
    System.out.println("== " + plan.getTitle() + " ==");
    Instant synced = Instant.ofEpochSecond(cached.getLastSyncedTime().getSeconds());
    System.out.println(
        (cached.getLive() ? "Up to date" : "Last synced " + synced)
            + (cached.getPendingBatches() > 0
                ? " (" + cached.getPendingBatches() + " changes not sent yet)"
                : ""));
    CrisisPlan crisis = plan.getCrisisPlan();
    section("Warning signs", crisis.getWarningSignsList());
    section("Things I can do myself", crisis.getCopingStrategiesList());
  }

  private static void section(String title, java.util.List<TextItem> items) {
    System.out.println(title + ":");
    for (TextItem item : items) System.out.println("  - " + item.getText());
  }

  private static <T> T get(java.util.concurrent.CompletableFuture<T> future)
      throws CoplanException {
    try {
      return future.get(60, TimeUnit.SECONDS);
    } catch (ExecutionException e) {
      CoplanException error = CoplanException.unwrap(e);
      if (error != null) throw error;
      throw new CoplanException(CoplanException.Code.UNKNOWN, String.valueOf(e.getCause()));
    } catch (InterruptedException | TimeoutException e) {
      throw new CoplanException(CoplanException.Code.DEADLINE_EXCEEDED, e.toString());
    }
  }

  /** A stand-in for the Keystore on a desktop: 32 random bytes in an owner-only file. */
  private static byte[] loadOrCreateKey(Path file) throws IOException {
    if (Files.exists(file)) {
      byte[] key = Files.readAllBytes(file);
      if (key.length != 32) throw new IOException(file + " does not hold a 32-byte key");
      return key;
    }
    byte[] key = new byte[32];
    new SecureRandom().nextBytes(key);
    Files.createFile(file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
    Files.write(file, key);
    return key;
  }
}
