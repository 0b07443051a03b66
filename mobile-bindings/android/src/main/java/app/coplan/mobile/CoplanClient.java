package app.coplan.mobile;

import app.coplan.client.v1.CachedAccessLog;
import app.coplan.client.v1.CachedDocument;
import app.coplan.client.v1.CachedGridVersion;
import app.coplan.client.v1.EditQueued;
import app.coplan.client.v1.EditRequest;
import app.coplan.client.v1.PendingState;
import app.coplan.client.v1.Resolution;
import app.coplan.client.v1.SessionState;
import app.coplan.v1.AuditServiceOuterClass;
import app.coplan.v1.AuthServiceOuterClass;
import app.coplan.v1.DecisionServiceOuterClass;
import app.coplan.v1.EditingServiceOuterClass;
import app.coplan.v1.OptionGridServiceOuterClass;
import app.coplan.v1.PeopleServiceOuterClass;
import app.coplan.v1.PlanServiceOuterClass;
import app.coplan.v1.SyncServiceOuterClass;
import com.google.protobuf.Descriptors.FileDescriptor;
import com.google.protobuf.Descriptors.MethodDescriptor;
import com.google.protobuf.Descriptors.ServiceDescriptor;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Consumer;
import javax.annotation.Nonnull;
import javax.annotation.Nullable;

/**
 * A Coplan client: the device's encrypted offline cache, its queued edits and its one sync
 * stream, over the client core (libcoplan.so). Thread-safe; close it when done ({@link
 * AutoCloseable}).
 *
 * <p><b>Threads.</b> Every method returns at once. Futures complete, and listeners run, on
 * the library's one callback thread, one at a time, in order: never block there (no {@code
 * future.get()}), and post to the main Looper to touch views. Do not close the client from
 * there either ({@link #close()} throws IllegalStateException on that thread).
 *
 * <p><b>Errors.</b> Futures fail with {@link CoplanException} (the gRPC code and the {@code
 * google.rpc.Status}); methods that answer at once throw it. A closed client: CANCELLED. A
 * null argument: NullPointerException naming it.
 */
public final class CoplanClient implements AutoCloseable {
  // The native client, freed only once closed and no call is using it: every use counts
  // itself in inFlight and then checks closed (close() sets closed, then waits for
  // inFlight to drain), so no lock is ever held while the library runs callbacks.
  final long handle; // package-private for the tests
  private final AtomicInteger inFlight = new AtomicInteger();
  private volatile boolean closed;
  private final Object freeing = new Object();
  // Threads inside close() now (several may close at once; one may re-enter, see close()).
  private final Set<Thread> closingThreads = ConcurrentHashMap.newKeySet();
  private boolean freed; // guarded by freeing

  private CoplanClient(long handle) {
    this.handle = handle;
  }

  /** How to open a client. */
  public static final class Options {
    private final String server;
    private boolean tls = true;
    @Nullable private String rootCertificates;
    @Nullable private String cachePath;
    @Nullable private byte[] cacheKey;
    @Nullable private String deviceName;
    @Nullable private String userAgent;
    private long callDeadlineMillis;
    private long maxBackoffMillis;
    @Nullable private ClientListener listener;

    /** The server's "host:port"; TLS with the system's roots unless changed. */
    public Options(String server) {
      this.server = Objects.requireNonNull(server, "server");
    }

    /** Plaintext (false) is for a server on the same machine only. */
    @Nonnull
    public Options setTls(boolean tls) {
      this.tls = tls;
      return this;
    }

    /** PEM roots instead of the system's. */
    @Nonnull
    public Options setRootCertificates(@Nullable String pem) {
      this.rootCertificates = pem;
      return this;
    }

    /**
     * The encrypted offline cache: a file (e.g. under {@code Context.getNoBackupFilesDir()})
     * and its 256-bit key (32 bytes from the Android Keystore; never stored by the library,
     * never hard-coded). Without it nothing is kept on disk.
     */
    @Nonnull
    public Options setCache(String path, byte[] key) {
      this.cachePath = Objects.requireNonNull(path, "path");
      this.cacheKey = Objects.requireNonNull(key, "key").clone();
      return this;
    }

    /** Opens a device session kept across restarts, e.g. "Alex's phone". */
    @Nonnull
    public Options setDeviceName(@Nullable String deviceName) {
      this.deviceName = deviceName;
      return this;
    }

    /** For the server's logs, e.g. "coplan-android/1.2". */
    @Nonnull
    public Options setUserAgent(@Nullable String userAgent) {
      this.userAgent = userAgent;
      return this;
    }

    /** How long one call to the server may take; 0: 10 s. */
    @Nonnull
    public Options setCallDeadlineMillis(long millis) {
      this.callDeadlineMillis = millis;
      return this;
    }

    /** The longest wait between attempts to reach the server; 0: 30 s. */
    @Nonnull
    public Options setMaxBackoffMillis(long millis) {
      this.maxBackoffMillis = millis;
      return this;
    }

    /**
     * Hears the client from the start (conflicts, refusals, connectivity, sign-out), so
     * nothing that happens while the app sets up is missed.
     */
    @Nonnull
    public Options setListener(@Nullable ClientListener listener) {
      this.listener = listener;
      return this;
    }
  }

  /**
   * Opens the cache and, if the device was signed in, carries on (follows its documents,
   * sends its queued edits when the server answers). A wrong key or a damaged cache:
   * DATA_LOSS with ErrorInfo reason CACHE_UNREADABLE ({@link #destroyCache} and open again);
   * a key that is not 32 bytes: INVALID_ARGUMENT.
   */
  @Nonnull
  public static CoplanClient open(Options options) throws CoplanException {
    Objects.requireNonNull(options, "options");
    NativeBridge.load();
    byte[] key = options.cacheKey != null ? options.cacheKey.clone() : null;
    try {
      long handle =
          NativeBridge.nativeOpen(
              NativeBridge.utf8(options.server),
              options.tls,
              NativeBridge.utf8(options.rootCertificates),
              NativeBridge.utf8(options.cachePath),
              key,
              NativeBridge.utf8(options.deviceName),
              NativeBridge.utf8(options.userAgent),
              options.callDeadlineMillis,
              options.maxBackoffMillis,
              NativeBridge.FORMAT_PROTOBUF,
              options.listener != null ? new Callbacks.Client(options.listener) : null);
      return new CoplanClient(handle);
    } finally {
      if (key != null) Arrays.fill(key, (byte) 0);
    }
  }

  /** Deletes a cache file (and its journal) that no client has open. */
  public static void destroyCache(String path) throws CoplanException {
    Objects.requireNonNull(path, "path");
    NativeBridge.load();
    NativeBridge.nativeDestroyCache(NativeBridge.utf8(path));
  }

  /** The library's release, "major.minor.patch". */
  @Nonnull
  public static String version() {
    NativeBridge.load();
    return new String(NativeBridge.nativeVersion(), StandardCharsets.UTF_8);
  }

  /**
   * Where exceptions thrown by listeners (on the callback thread) go; null: logged with
   * java.util.logging ("app.coplan.mobile", SEVERE), which Android sends to logcat.
   */
  public static void setListenerErrorHandler(@Nullable Consumer<Throwable> handler) {
    NativeBridge.setFailureHandler(handler);
  }

  // --- Calling the library, never on a freed handle -------------------------------------

  private interface NativeCall {
    void run(long handle) throws CoplanException;
  }

  private interface NativeValue<T> {
    T run(long handle) throws CoplanException;
  }

  private static CoplanException closedError() {
    return new CoplanException(CoplanException.Code.CANCELLED, "the client is closed");
  }

  private <T> T withHandle(NativeValue<T> call) throws CoplanException {
    inFlight.incrementAndGet();
    try {
      if (closed) throw closedError();
      return call.run(handle);
    } finally {
      inFlight.decrementAndGet();
    }
  }

  private <T> CompletableFuture<T> submit(Callbacks.Result<T> callback, NativeCall call) {
    try {
      withHandle(
          h -> {
            call.run(h);
            return null;
          });
    } catch (CoplanException e) {
      callback.fail(e);
    }
    return callback.future;
  }

  // --- The session ----------------------------------------------------------------------

  /** Signs in and opens a device session (kept in the cache). UNAUTHENTICATED: wrong password. */
  @Nonnull
  public CompletableFuture<SessionState> signIn(String username, String password) {
    Objects.requireNonNull(username, "username");
    Objects.requireNonNull(password, "password");
    Callbacks.Result<SessionState> done = Callbacks.Result.parsed(SessionState.parser());
    return submit(
        done,
        h ->
            NativeBridge.nativeSignIn(
                h, NativeBridge.utf8(username), NativeBridge.utf8(password), done));
  }

  /** Who is signed in now (signedIn false: nobody). */
  @Nonnull
  public SessionState session() throws CoplanException {
    byte[] data = withHandle(NativeBridge::nativeSession);
    try {
      return SessionState.parseFrom(data);
    } catch (InvalidProtocolBufferException e) {
      throw new CoplanException(CoplanException.Code.INTERNAL, "the session does not parse");
    }
  }

  /**
   * Wipes everything the device holds and ends the session on the server; the wipe happens
   * even offline (the future then fails with UNAVAILABLE: the server could not be told).
   */
  @Nonnull
  public CompletableFuture<Void> signOut() {
    Callbacks.Result<Void> done = Callbacks.Result.status();
    return submit(done, h -> NativeBridge.nativeSignOut(h, done));
  }

  /** {@link #signOut()}, then deletes the cache file; later calls fail with CANCELLED. */
  @Nonnull
  public CompletableFuture<Void> forgetDevice() {
    Callbacks.Result<Void> done = Callbacks.Result.status();
    return submit(done, h -> NativeBridge.nativeForgetDevice(h, done));
  }

  // --- Documents ------------------------------------------------------------------------

  /**
   * Keeps the document ("people/{person}/plans/{plan}", ".../decisions/{decision}",
   * "people/me/..." for one's own) on the device and up to date, and tells the listener.
   */
  @Nonnull
  public Subscription follow(String document, DocumentListener listener) throws CoplanException {
    Objects.requireNonNull(document, "document");
    Objects.requireNonNull(listener, "listener");
    Callbacks.Document dispatcher = new Callbacks.Document(listener);
    long id =
        withHandle(h -> NativeBridge.nativeFollow(h, NativeBridge.utf8(document), dispatcher));
    return new Subscription(this, id);
  }

  /** Adds a client listener (like {@link Options#setListener}). */
  @Nonnull
  public Subscription addClientListener(ClientListener listener) throws CoplanException {
    Objects.requireNonNull(listener, "listener");
    Callbacks.Client dispatcher = new Callbacks.Client(listener);
    long id = withHandle(h -> NativeBridge.nativeAddClientListener(h, dispatcher));
    return new Subscription(this, id);
  }

  CompletableFuture<Void> removeListener(long id) {
    Callbacks.Result<Void> done = Callbacks.Result.status();
    return submit(done, h -> NativeBridge.nativeRemoveListener(h, id, done));
  }

  /** Stops keeping the document on the device (FAILED_PRECONDITION while edits of it wait). */
  @Nonnull
  public CompletableFuture<Void> forget(String document) {
    Objects.requireNonNull(document, "document");
    Callbacks.Result<Void> done = Callbacks.Result.status();
    return submit(done, h -> NativeBridge.nativeForget(h, NativeBridge.utf8(document), done));
  }

  /**
   * The document as the device has it; works offline. NOT_FOUND without a copy (or one that
   * may no longer be shown).
   */
  @Nonnull
  public CompletableFuture<CachedDocument> getDocument(String document) {
    Objects.requireNonNull(document, "document");
    Callbacks.Result<CachedDocument> done = Callbacks.Result.parsed(CachedDocument.parser());
    return submit(done, h -> NativeBridge.nativeGetDocument(h, NativeBridge.utf8(document), done));
  }

  /** An option-grid version ("optionGrids/{grid}/versions/{version}"). */
  @Nonnull
  public CompletableFuture<CachedGridVersion> getGridVersion(String name) {
    Objects.requireNonNull(name, "name");
    Callbacks.Result<CachedGridVersion> done = Callbacks.Result.parsed(CachedGridVersion.parser());
    return submit(done, h -> NativeBridge.nativeGetGridVersion(h, NativeBridge.utf8(name), done));
  }

  /** The person's latest access-log page: from the server when it answers, else the device. */
  @Nonnull
  public CompletableFuture<CachedAccessLog> getAccessLog() {
    Callbacks.Result<CachedAccessLog> done = Callbacks.Result.parsed(CachedAccessLog.parser());
    return submit(done, h -> NativeBridge.nativeGetAccessLog(h, done));
  }

  // --- Edits ----------------------------------------------------------------------------

  /**
   * Applies the edit to the device's copy at once and queues it durably; completes once it
   * is safe from an app kill, or fails with the error the server would give.
   */
  @Nonnull
  public CompletableFuture<EditQueued> edit(EditRequest request) {
    Objects.requireNonNull(request, "request");
    Callbacks.Result<EditQueued> done = Callbacks.Result.parsed(EditQueued.parser());
    return submit(done, h -> NativeBridge.nativeEdit(h, request.toByteArray(), done));
  }

  /** Resolves a conflict ({@link ClientListener#onConflict}): keep mine or take theirs. */
  @Nonnull
  public CompletableFuture<Void> resolveConflict(Resolution resolution) {
    Objects.requireNonNull(resolution, "resolution");
    Callbacks.Result<Void> done = Callbacks.Result.status();
    return submit(
        done, h -> NativeBridge.nativeResolveConflict(h, resolution.toByteArray(), done));
  }

  /** The queue of edits and its conflicts. */
  @Nonnull
  public CompletableFuture<PendingState> getPendingState() {
    Callbacks.Result<PendingState> done = Callbacks.Result.parsed(PendingState.parser());
    return submit(done, h -> NativeBridge.nativeGetPendingState(h, done));
  }

  /**
   * Completes once nothing waits to be sent and every followed document is live;
   * DEADLINE_EXCEEDED after the timeout.
   */
  @Nonnull
  public CompletableFuture<Void> flush(long timeoutMillis) {
    Callbacks.Result<Void> done = Callbacks.Result.status();
    return submit(done, h -> NativeBridge.nativeFlush(h, timeoutMillis, done));
  }

  /** For tests: how many sync streams the client has open (0 or 1). */
  @Nonnull
  public CompletableFuture<Integer> countOpenStreams() {
    Callbacks.Result<Integer> done = Callbacks.Result.counting();
    return submit(done, h -> NativeBridge.nativeCountOpenStreams(h, done));
  }

  // --- Any other call -------------------------------------------------------------------

  private static final FileDescriptor[] SERVICE_FILES = {
    AuditServiceOuterClass.getDescriptor(),
    AuthServiceOuterClass.getDescriptor(),
    DecisionServiceOuterClass.getDescriptor(),
    EditingServiceOuterClass.getDescriptor(),
    OptionGridServiceOuterClass.getDescriptor(),
    PeopleServiceOuterClass.getDescriptor(),
    PlanServiceOuterClass.getDescriptor(),
    SyncServiceOuterClass.getDescriptor(),
  };

  @Nullable
  static MethodDescriptor findMethod(String method) {
    int slash = method.indexOf('/');
    if (slash < 0) return null;
    String service = method.substring(0, slash);
    String name = method.substring(slash + 1);
    for (FileDescriptor file : SERVICE_FILES) {
      for (ServiceDescriptor s : file.getServices()) {
        if (s.getFullName().equals(service)) return s.findMethodByName(name);
      }
    }
    return null;
  }

  /**
   * Calls a unary API method by name ("coplan.v1.PlanService/GetPlan") with its request;
   * the future gets the response, parsed as {@code responseType} (the response's default
   * instance, e.g. {@code Plan.getDefaultInstance()}). Reads and edits with an idempotency
   * key are retried while the server is unreachable. INVALID_ARGUMENT for an unknown or
   * streaming method, or a request or response type that is not the method's.
   */
  @Nonnull
  public <T extends Message> CompletableFuture<T> call(
      String method, Message request, T responseType) {
    Objects.requireNonNull(method, "method");
    Objects.requireNonNull(request, "request");
    Objects.requireNonNull(responseType, "responseType");
    @SuppressWarnings("unchecked")
    Callbacks.Result<T> done =
        Callbacks.Result.parsed((com.google.protobuf.Parser<T>) responseType.getParserForType());
    MethodDescriptor descriptor = findMethod(method);
    if (descriptor == null
        || descriptor.toProto().getClientStreaming()
        || descriptor.toProto().getServerStreaming()) {
      done.fail(
          new CoplanException(
              CoplanException.Code.INVALID_ARGUMENT,
              "method: not a unary method of the Coplan API: " + method));
      return done.future;
    }
    String in = descriptor.getInputType().getFullName();
    String out = descriptor.getOutputType().getFullName();
    if (!request.getDescriptorForType().getFullName().equals(in)) {
      done.fail(
          new CoplanException(
              CoplanException.Code.INVALID_ARGUMENT,
              "request: "
                  + method
                  + " takes a "
                  + in
                  + ", not a "
                  + request.getDescriptorForType().getFullName()));
      return done.future;
    }
    if (!responseType.getDescriptorForType().getFullName().equals(out)) {
      done.fail(
          new CoplanException(
              CoplanException.Code.INVALID_ARGUMENT,
              "responseType: "
                  + method
                  + " answers a "
                  + out
                  + ", not a "
                  + responseType.getDescriptorForType().getFullName()));
      return done.future;
    }
    return submit(
        done,
        h -> NativeBridge.nativeCall(h, NativeBridge.utf8(method), request.toByteArray(), done));
  }

  // --- Closing --------------------------------------------------------------------------

  /** Whether {@link #close()} has run. */
  public boolean isClosed() {
    return closed;
  }

  /**
   * Ends every call (futures not yet complete fail with CANCELLED) and the sync stream,
   * removes every listener (the library lets go of them), closes the cache and frees the
   * client. Idempotent; later calls fail with CANCELLED.
   *
   * @throws IllegalStateException when called on the library's callback thread (from a
   *     listener or a future's continuation): it would wait for itself
   */
  @Override
  public void close() {
    // The library may answer calls with CANCELLED on this very thread, inside nativeClose;
    // a continuation of such a future that closes this client again must not wait for
    // itself: the close already running finishes the job.
    final Thread self = Thread.currentThread();
    if (!closingThreads.add(self)) return;
    try {
      closeOnce();
    } finally {
      closingThreads.remove(self);
    }
  }

  private void closeOnce() {
    inFlight.incrementAndGet();
    try {
      if (!closed) {
        // Waits for the callbacks still due; those may call this client meanwhile.
        int code = NativeBridge.nativeClose(handle);
        if (code == CoplanException.Code.FAILED_PRECONDITION.value()) {
          throw new IllegalStateException(
              "CoplanClient.close() on the library's callback thread: close it from another"
                  + " thread");
        }
        closed = true;
      }
    } finally {
      inFlight.decrementAndGet();
    }
    synchronized (freeing) {
      if (freed) return;
      // Calls still in the library answer at once (CANCELLED): wait for them to leave.
      while (inFlight.get() > 0) LockSupport.parkNanos(100_000);
      NativeBridge.nativeFree(handle);
      freed = true;
    }
  }
}
