package app.coplan.mobile;

import java.nio.charset.StandardCharsets;
import java.util.function.Consumer;
import java.util.logging.Level;
import java.util.logging.Logger;
import javax.annotation.Nullable;

/**
 * The natives of libcoplan_jni.so, bound by its JNI_OnLoad with RegisterNatives. Byte
 * arrays are UTF-8 strings or serialized protobuf. Errors the library can tell at once are
 * thrown as CoplanException; the rest arrive at the NativeCallback.
 */
final class NativeBridge {
  static final int FORMAT_PROTOBUF = 0;
  private static final Logger LOG = Logger.getLogger("app.coplan.mobile");
  @Nullable private static volatile Consumer<Throwable> failureHandler;

  static {
    System.loadLibrary("coplan_jni");
  }

  private NativeBridge() {}

  /** Makes sure the library is loaded (the static initializer has run). */
  static void load() {}

  static void setFailureHandler(@Nullable Consumer<Throwable> handler) {
    failureHandler = handler;
  }

  /**
   * Called by the glue with what a listener or callback threw on the callback thread (it
   * is cleared there, never reaching the core).
   */
  static void reportFailure(Throwable thrown) {
    try {
      Consumer<Throwable> handler = failureHandler;
      if (handler != null) {
        handler.accept(thrown);
      } else {
        LOG.log(Level.SEVERE, "a Coplan listener or callback threw", thrown);
      }
    } catch (Throwable ignored) {
      // A failing handler must not take the callback thread down either.
    }
  }

  @Nullable
  static byte[] utf8(@Nullable String text) {
    return text == null ? null : text.getBytes(StandardCharsets.UTF_8);
  }

  static native long nativeOpen(
      byte[] server,
      boolean tls,
      @Nullable byte[] rootCertificates,
      @Nullable byte[] cachePath,
      @Nullable byte[] cacheKey,
      @Nullable byte[] deviceName,
      @Nullable byte[] userAgent,
      long callDeadlineMs,
      long maxBackoffMs,
      int messageFormat,
      @Nullable NativeCallback listener)
      throws CoplanException;

  static native int nativeClose(long client);

  static native int nativeFree(long client);

  static native byte[] nativeSession(long client) throws CoplanException;

  static native void nativeSignIn(long client, byte[] username, byte[] password, NativeCallback done)
      throws CoplanException;

  static native void nativeSignOut(long client, NativeCallback done) throws CoplanException;

  static native void nativeForgetDevice(long client, NativeCallback done) throws CoplanException;

  static native long nativeFollow(long client, byte[] document, NativeCallback listener)
      throws CoplanException;

  static native long nativeAddClientListener(long client, NativeCallback listener)
      throws CoplanException;

  static native void nativeRemoveListener(long client, long id, NativeCallback released)
      throws CoplanException;

  static native void nativeForget(long client, byte[] document, NativeCallback done)
      throws CoplanException;

  static native void nativeGetDocument(long client, byte[] document, NativeCallback done)
      throws CoplanException;

  static native void nativeGetGridVersion(long client, byte[] name, NativeCallback done)
      throws CoplanException;

  static native void nativeGetAccessLog(long client, NativeCallback done) throws CoplanException;

  static native void nativeEdit(long client, byte[] request, NativeCallback done)
      throws CoplanException;

  static native void nativeResolveConflict(long client, byte[] resolution, NativeCallback done)
      throws CoplanException;

  static native void nativeGetPendingState(long client, NativeCallback done)
      throws CoplanException;

  static native void nativeFlush(long client, long timeoutMs, NativeCallback done)
      throws CoplanException;

  static native void nativeCall(long client, byte[] method, byte[] request, NativeCallback done)
      throws CoplanException;

  static native void nativeCountOpenStreams(long client, NativeCallback done)
      throws CoplanException;

  static native void nativeDestroyCache(byte[] path) throws CoplanException;

  static native int nativeAbiVersion();

  static native byte[] nativeVersion();

  /** For tests: the JNI global references the glue holds for callbacks and listeners. */
  static native int nativeLiveGlobalRefs();

  /** For tests: native threads each deliver events to target.onEvent. */
  static native void nativeCallbackStorm(NativeCallback target, int threads, int perThread)
      throws CoplanException;
}
