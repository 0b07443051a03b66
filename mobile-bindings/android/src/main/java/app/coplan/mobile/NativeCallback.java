package app.coplan.mobile;

import javax.annotation.Nullable;

/**
 * What the JNI glue calls back (its method ids are cached at load, so these names and
 * signatures are kept by consumer-rules.pro). Runs on the core's callback thread.
 */
abstract class NativeCallback {
  /** A call's answer: code 0 and data (or a count), or an error's code, message, status. */
  void onResult(
      int code,
      @Nullable byte[] message,
      @Nullable byte[] status,
      @Nullable byte[] data,
      int count) {}

  /** A listener's event (serialized DocumentEvent or ClientEvent). */
  void onEvent(byte[] data) {}
}
