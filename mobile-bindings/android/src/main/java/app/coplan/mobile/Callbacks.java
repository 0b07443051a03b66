package app.coplan.mobile;

import app.coplan.client.v1.ClientEvent;
import app.coplan.client.v1.DocumentEvent;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Parser;
import com.google.rpc.Status;
import java.util.concurrent.CompletableFuture;
import javax.annotation.Nullable;

/** The NativeCallbacks behind CoplanClient's futures and listeners. */
final class Callbacks {
  private Callbacks() {}

  static CoplanException fromStatus(Status status) {
    return new CoplanException(
        CoplanException.Code.forNumber(status.getCode()), status.getMessage(), status);
  }

  /** Completes a future with a call's answer, parsed; or fails it with the error. */
  static final class Result<T> extends NativeCallback {
    final CompletableFuture<T> future = new CompletableFuture<>();
    @Nullable private final Parser<T> parser;
    @Nullable private final T success;
    private final boolean count;

    private Result(@Nullable Parser<T> parser, @Nullable T success, boolean count) {
      this.parser = parser;
      this.success = success;
      this.count = count;
    }

    /** A message answer. */
    static <T> Result<T> parsed(Parser<T> parser) {
      return new Result<>(parser, null, false);
    }

    /** An answer without a message (the future gets null). */
    static Result<Void> status() {
      return new Result<>(null, null, false);
    }

    /** A count. */
    static Result<Integer> counting() {
      return new Result<>(null, null, true);
    }

    void fail(CoplanException error) {
      future.completeExceptionally(error);
    }

    @Override
    @SuppressWarnings("unchecked")
    void onResult(
        int code,
        @Nullable byte[] message,
        @Nullable byte[] status,
        @Nullable byte[] data,
        int value) {
      if (code != 0) {
        future.completeExceptionally(
            new CoplanException(code, message != null ? message : new byte[0], status));
        return;
      }
      if (count) {
        future.complete((T) Integer.valueOf(value));
        return;
      }
      if (parser == null) {
        future.complete(success);
        return;
      }
      try {
        future.complete(parser.parseFrom(data != null ? data : new byte[0]));
      } catch (InvalidProtocolBufferException e) {
        future.completeExceptionally(
            new CoplanException(
                CoplanException.Code.INTERNAL, "the library's answer does not parse: " + e));
      }
    }
  }

  /** Hands a document's events to its listener. */
  static final class Document extends NativeCallback {
    private final DocumentListener listener;

    Document(DocumentListener listener) {
      this.listener = listener;
    }

    @Override
    void onEvent(byte[] data) {
      DocumentEvent event;
      try {
        event = DocumentEvent.parseFrom(data);
      } catch (InvalidProtocolBufferException e) {
        throw new IllegalStateException("a DocumentEvent from the library does not parse", e);
      }
      switch (event.getEventCase()) {
        case DOCUMENT:
          listener.onDocument(event.getDocument());
          break;
        case PRESENCE:
          listener.onPresence(event.getPresence());
          break;
        case AGREEMENT:
          listener.onAgreement(event.getAgreement());
          break;
        case ENDED:
          listener.onEnded(fromStatus(event.getEnded()));
          break;
        default:
          break; // an event of a later version of the library
      }
    }
  }

  /** Hands the client's events to its listener. */
  static final class Client extends NativeCallback {
    private final ClientListener listener;

    Client(ClientListener listener) {
      this.listener = listener;
    }

    @Override
    void onEvent(byte[] data) {
      ClientEvent event;
      try {
        event = ClientEvent.parseFrom(data);
      } catch (InvalidProtocolBufferException e) {
        throw new IllegalStateException("a ClientEvent from the library does not parse", e);
      }
      switch (event.getEventCase()) {
        case CONFLICT:
          listener.onConflict(event.getConflict());
          break;
        case REFUSED:
          listener.onRefused(event.getRefused(), fromStatus(event.getRefused().getStatus()));
          break;
        case ACCEPTED:
          listener.onAccepted(event.getAccepted());
          break;
        case CONNECTIVITY:
          listener.onConnectivity(event.getConnectivity().getOnline());
          break;
        case SIGNED_OUT:
          listener.onSignedOut(fromStatus(event.getSignedOut()));
          break;
        case STORAGE_FAILED:
          listener.onStorageFailed(fromStatus(event.getStorageFailed()));
          break;
        default:
          break;
      }
    }
  }
}
