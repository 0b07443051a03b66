package app.coplan.mobile;

import app.coplan.client.v1.AcceptedBatch;
import app.coplan.client.v1.Conflict;
import app.coplan.client.v1.RefusedBatch;

/**
 * Hears the client as a whole: conflicts, refused and accepted edits, connectivity and the
 * session's end. Every method has an empty default: implement what you show.
 *
 * <p>Runs on the library's callback thread, one event at a time, in order: return quickly
 * and post to the main Looper to touch views.
 */
public interface ClientListener {
  /**
   * An edit of the device's conflicts with a change made meanwhile: show both ({@link
   * Conflict#getMine()}, {@link Conflict#getTheirs()}) and let the person choose ({@link
   * CoplanClient#resolveConflict}). Nothing is dropped until then.
   */
  default void onConflict(Conflict conflict) {}

  /** The server refused an edit for good (its status says why); it has been removed. */
  default void onRefused(RefusedBatch refused, CoplanException reason) {}

  /** The server accepted an edit. */
  default void onAccepted(AcceptedBatch accepted) {}

  /** Whether the device reaches the server now. */
  default void onConnectivity(boolean online) {}

  /**
   * The session ended on the server (revoked from another device, expired): everything
   * the device held has been removed; sign in again.
   */
  default void onSignedOut(CoplanException reason) {}

  /** The device could not store something: what happened since may not survive a restart. */
  default void onStorageFailed(CoplanException reason) {}
}
