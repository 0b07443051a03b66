package app.coplan.mobile;

import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import com.google.rpc.Status;
import java.nio.charset.StandardCharsets;
import javax.annotation.Nonnull;
import javax.annotation.Nullable;

/**
 * An error of the Coplan library or server: a gRPC status code, a message for developers,
 * and the {@code google.rpc.Status} with its details (e.g. {@code google.rpc.BadRequest}
 * naming the field, {@code google.rpc.ErrorInfo} with a reason such as {@code
 * CACHE_UNREADABLE}, {@code coplan.v1.EditConflict}).
 *
 * <p>Futures returned by {@link CoplanClient} fail with it (as the cause of the {@code
 * ExecutionException} or {@code CompletionException}: see {@link #unwrap(Throwable)}).
 */
public final class CoplanException extends Exception {
  private static final long serialVersionUID = 1L;

  /** gRPC's status codes, with the same numbers. */
  public enum Code {
    OK(0),
    CANCELLED(1),
    UNKNOWN(2),
    INVALID_ARGUMENT(3),
    DEADLINE_EXCEEDED(4),
    NOT_FOUND(5),
    ALREADY_EXISTS(6),
    PERMISSION_DENIED(7),
    RESOURCE_EXHAUSTED(8),
    FAILED_PRECONDITION(9),
    ABORTED(10),
    OUT_OF_RANGE(11),
    UNIMPLEMENTED(12),
    INTERNAL(13),
    UNAVAILABLE(14),
    DATA_LOSS(15),
    UNAUTHENTICATED(16);

    private final int value;

    Code(int value) {
      this.value = value;
    }

    /** The code's number, as in gRPC and {@code google.rpc.Status.code}. */
    public int value() {
      return value;
    }

    /** The code with this number; UNKNOWN for a number gRPC does not define. */
    @Nonnull
    public static Code forNumber(int value) {
      for (Code code : values()) {
        if (code.value == value) return code;
      }
      return UNKNOWN;
    }
  }

  private final Code code;
  private final Status status;

  /** An error with this code and message (and a status holding just them). */
  public CoplanException(Code code, String message) {
    this(code, message, null);
  }

  /** An error with this code, message and {@code google.rpc.Status}. */
  public CoplanException(Code code, String message, @Nullable Status status) {
    super(code + ": " + message);
    this.code = code;
    this.status =
        status != null ? status : Status.newBuilder().setCode(code.value()).setMessage(message).build();
  }

  /** For the JNI glue: UTF-8 message, serialized google.rpc.Status or null. */
  CoplanException(int code, byte[] message, @Nullable byte[] status) {
    this(Code.forNumber(code), new String(message, StandardCharsets.UTF_8), parseStatus(status));
  }

  @Nullable
  private static Status parseStatus(@Nullable byte[] status) {
    if (status == null) return null;
    try {
      return Status.parseFrom(status);
    } catch (InvalidProtocolBufferException e) {
      return null;
    }
  }

  /** The gRPC status code. */
  @Nonnull
  public Code getCode() {
    return code;
  }

  /** The full {@code google.rpc.Status}: code, message and details. */
  @Nonnull
  public Status getStatus() {
    return status;
  }

  /**
   * The first detail of this type (e.g. {@code ErrorInfo.getDefaultInstance()}), or null
   * when the status has none.
   */
  @Nullable
  public <T extends Message> T getDetail(T prototype) {
    for (Any any : status.getDetailsList()) {
      if (any.getTypeUrl().endsWith("/" + prototype.getDescriptorForType().getFullName())) {
        try {
          @SuppressWarnings("unchecked")
          T detail = (T) prototype.getParserForType().parseFrom(any.getValue());
          return detail;
        } catch (InvalidProtocolBufferException e) {
          return null;
        }
      }
    }
    return null;
  }

  /**
   * The CoplanException behind a failed future's exception ({@code ExecutionException},
   * {@code CompletionException}), or null when there is none.
   */
  @Nullable
  public static CoplanException unwrap(@Nullable Throwable thrown) {
    for (Throwable t = thrown; t != null; t = t.getCause()) {
      if (t instanceof CoplanException) return (CoplanException) t;
      if (t.getCause() == t) break;
    }
    return null;
  }
}
