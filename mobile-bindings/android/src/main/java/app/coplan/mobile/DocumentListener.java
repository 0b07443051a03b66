package app.coplan.mobile;

import app.coplan.client.v1.CachedDocument;
import app.coplan.v1.Agreement;
import app.coplan.v1.PresenceUpdate;

/**
 * Hears one followed document ({@link CoplanClient#follow}): the cached copy at once if
 * there is one, then every change, presence and sign-off, and finally {@link #onEnded}.
 *
 * <p>Runs on the library's callback thread, one event at a time, in order: return quickly
 * and post to the main Looper to touch views. An exception thrown here is reported to the
 * handler of {@link CoplanClient#setListenerErrorHandler} and otherwise ignored.
 */
public interface DocumentListener {
  /** The document as the device has it now (the server's copy with queued edits on top). */
  void onDocument(CachedDocument document);

  /** Who is looking at or editing it now. */
  default void onPresence(PresenceUpdate presence) {}

  /** Its sign-offs changed. */
  default void onAgreement(Agreement agreement) {}

  /**
   * Following ended, the last event: e.g. NOT_FOUND when it is no longer shared with the
   * reader (their copy has been removed from the device), or the session ended.
   */
  default void onEnded(CoplanException reason) {}
}
