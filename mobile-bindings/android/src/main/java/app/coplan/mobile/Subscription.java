package app.coplan.mobile;

import java.util.concurrent.CompletableFuture;
import javax.annotation.Nonnull;

/**
 * A listener added with {@link CoplanClient#follow} or {@link
 * CoplanClient#addClientListener}. {@link #close()} (or {@link #remove()}) removes it; it
 * hears nothing once the future of {@link #remove()} completes. Closing the client removes
 * every listener too. A followed document stays on the device until {@link
 * CoplanClient#forget}.
 */
public final class Subscription implements AutoCloseable {
  private final CoplanClient client;
  private final long id;
  private CompletableFuture<Void> removed;

  Subscription(CoplanClient client, long id) {
    this.client = client;
    this.id = id;
  }

  /** The library's id of the listener. */
  public long getId() {
    return id;
  }

  /**
   * Removes the listener; the future completes once it will hear nothing more (or fails
   * with CANCELLED when the client is already closed, which removed it). Idempotent.
   */
  @Nonnull
  public synchronized CompletableFuture<Void> remove() {
    if (removed == null) removed = client.removeListener(id);
    return removed;
  }

  /** {@link #remove()} without waiting. */
  @Override
  public void close() {
    remove();
  }
}
