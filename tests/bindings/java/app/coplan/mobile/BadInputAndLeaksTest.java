package app.coplan.mobile;

import static app.coplan.mobile.TestSupport.await;
import static app.coplan.mobile.TestSupport.failure;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import app.coplan.client.v1.EditRequest;
import app.coplan.client.v1.PendingState;
import app.coplan.client.v1.Resolution;
import app.coplan.v1.GetPlanRequest;
import app.coplan.v1.ListPlansRequest;
import app.coplan.v1.ListPlansResponse;
import app.coplan.v1.Plan;
import app.coplan.v1.WatchDocumentRequest;
import com.google.rpc.BadRequest;
import java.lang.ref.WeakReference;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Bad input never crashes the JVM or aborts JNI: closed clients, null arguments, wrong
 * message types, garbage bytes straight at the natives, throwing listeners, 1,000
 * callbacks from native threads; and nothing leaks (listeners unreachable after close, no
 * JNI global reference left).
 */
class BadInputAndLeaksTest {
  /** A client with nothing on disk and no server (port 1 on the loopback). */
  private static CoplanClient offline() throws CoplanException {
    return CoplanClient.open(
        new CoplanClient.Options("127.0.0.1:1")
            .setTls(false)
            .setCallDeadlineMillis(500)
            .setMaxBackoffMillis(200));
  }

  @org.junit.jupiter.api.BeforeEach
  void say(org.junit.jupiter.api.TestInfo test) {
    // Unbuffered, so that a crash still says where it happened.
    System.err.println("-- " + test.getDisplayName());
  }

  @AfterEach
  void noGlobalReferenceLeft() throws Exception {
    assertEquals(0, TestSupport.liveGlobalRefsAfterWaiting(), "JNI global references left");
  }

  @Test
  void versions() {
    assertEquals(1, NativeBridge.nativeAbiVersion());
    assertTrue(CoplanClient.version().matches("\\d+\\.\\d+\\.\\d+"), CoplanClient.version());
  }

  @Test
  void badOptionsAreCoplanExceptionsOrNullPointerExceptions() {
    assertThrows(NullPointerException.class, () -> CoplanClient.open(null));
    assertThrows(NullPointerException.class, () -> new CoplanClient.Options(null));
    CoplanException shortKey =
        assertThrows(
            CoplanException.class,
            () ->
                CoplanClient.open(
                    new CoplanClient.Options("127.0.0.1:1")
                        .setTls(false)
                        .setCache(TestSupport.cachePath("short-key.cache"), new byte[16])));
    assertEquals(CoplanException.Code.INVALID_ARGUMENT, shortKey.getCode());
    assertTrue(shortKey.getMessage().contains("32"), shortKey.getMessage());
    CoplanException nul =
        assertThrows(
            CoplanException.class,
            () -> CoplanClient.open(new CoplanClient.Options("127.0.0.1\u0000:1")));
    assertEquals(CoplanException.Code.INVALID_ARGUMENT, nul.getCode());
    assertThrows(NullPointerException.class, () -> CoplanClient.destroyCache(null));
  }

  @Test
  void nullArgumentsAreNullPointerExceptionsNamingThem() throws Exception {
    try (CoplanClient client = offline()) {
      NullPointerException e =
          assertThrows(NullPointerException.class, () -> client.getDocument(null));
      assertEquals("document", e.getMessage());
      assertThrows(NullPointerException.class, () -> client.signIn(null, "x"));
      assertThrows(NullPointerException.class, () -> client.signIn("x", null));
      assertThrows(NullPointerException.class, () -> client.follow(TestSupport.plan(), null));
      assertThrows(NullPointerException.class, () -> client.follow(null, d -> {}));
      assertThrows(NullPointerException.class, () -> client.edit(null));
      assertThrows(NullPointerException.class, () -> client.resolveConflict(null));
      assertThrows(NullPointerException.class, () -> client.addClientListener(null));
      assertThrows(NullPointerException.class, () -> client.forget(null));
      assertThrows(NullPointerException.class, () -> client.getGridVersion(null));
      assertThrows(
          NullPointerException.class,
          () -> client.call("coplan.v1.PlanService/GetPlan", null, Plan.getDefaultInstance()));
    }
  }

  @Test
  void wrongMessageTypesAndMethodsAreInvalidArgument() throws Exception {
    try (CoplanClient client = offline()) {
      CoplanException request =
          failure(
              client.call(
                  "coplan.v1.PlanService/GetPlan",
                  ListPlansRequest.newBuilder().setParent("people/me").build(),
                  Plan.getDefaultInstance()));
      assertEquals(CoplanException.Code.INVALID_ARGUMENT, request.getCode());
      assertTrue(request.getMessage().contains("coplan.v1.GetPlanRequest"), request.getMessage());
      CoplanException response =
          failure(
              client.call(
                  "coplan.v1.PlanService/GetPlan",
                  GetPlanRequest.getDefaultInstance(),
                  ListPlansResponse.getDefaultInstance()));
      assertEquals(CoplanException.Code.INVALID_ARGUMENT, response.getCode());
      assertEquals(
          CoplanException.Code.INVALID_ARGUMENT,
          failure(
                  client.call(
                      "coplan.v1.NoSuchService/Nothing",
                      GetPlanRequest.getDefaultInstance(),
                      Plan.getDefaultInstance()))
              .getCode());
      assertEquals(
          CoplanException.Code.INVALID_ARGUMENT,
          failure(
                  client.call(
                      "coplan.v1.EditingService/WatchDocument",
                      WatchDocumentRequest.getDefaultInstance(),
                      app.coplan.v1.WatchEvent.getDefaultInstance()))
              .getCode());
      // An edit of nothing: the library's own INVALID_ARGUMENT, with a BadRequest.
      CoplanException empty = failure(client.edit(EditRequest.getDefaultInstance()));
      assertEquals(CoplanException.Code.INVALID_ARGUMENT, empty.getCode());
      assertEquals(CoplanException.Code.INVALID_ARGUMENT, failure(client.flush(-1)).getCode());
    }
  }

  /** Bytes and nulls straight at the natives: each a CoplanException, never a crash. */
  @Test
  void theNativesRefuseGarbageAndNulls() throws Exception {
    NativeCallback ignored = new NativeCallback() {};
    long handle =
        NativeBridge.nativeOpen(
            "127.0.0.1:1".getBytes(StandardCharsets.UTF_8),
            false,
            null,
            null,
            null,
            null,
            null,
            500,
            200,
            NativeBridge.FORMAT_PROTOBUF,
            null);
    try {
      assertTrue(handle != 0);
      CoplanException garbage =
          assertThrows(
              CoplanException.class,
              () -> NativeBridge.nativeEdit(handle, new byte[] {0x0a, 0x05, 'a', 'b'}, ignored));
      assertEquals(CoplanException.Code.INVALID_ARGUMENT, garbage.getCode());
      assertTrue(
          garbage.getMessage().contains("coplan.client.v1.EditRequest"), garbage.getMessage());
      assertNotNull(garbage.getDetail(BadRequest.getDefaultInstance()), garbage.getStatus().toString());
      CoplanException resolution =
          assertThrows(
              CoplanException.class,
              () ->
                  NativeBridge.nativeResolveConflict(
                      handle, new byte[] {(byte) 0xff, (byte) 0xff, (byte) 0xff}, ignored));
      assertTrue(resolution.getMessage().contains("coplan.client.v1.Resolution"));
      CoplanException call =
          assertThrows(
              CoplanException.class,
              () ->
                  NativeBridge.nativeCall(
                      handle,
                      "coplan.v1.PlanService/GetPlan".getBytes(StandardCharsets.UTF_8),
                      new byte[] {0x0a, 0x05, 'a', 'b'},
                      ignored));
      assertTrue(call.getMessage().contains("coplan.v1.GetPlanRequest"), call.getMessage());
      assertEquals(
          CoplanException.Code.INVALID_ARGUMENT,
          assertThrows(
                  CoplanException.class,
                  () -> NativeBridge.nativeGetDocument(handle, null, ignored))
              .getCode());
      assertEquals(
          CoplanException.Code.INVALID_ARGUMENT,
          assertThrows(
                  CoplanException.class,
                  () -> NativeBridge.nativeGetDocument(handle, new byte[] {'a', 0, 'b'}, ignored))
              .getCode());
      assertEquals(
          CoplanException.Code.INVALID_ARGUMENT,
          assertThrows(CoplanException.class, () -> NativeBridge.nativeGetPendingState(handle, null))
              .getCode());
      assertEquals(
          CoplanException.Code.INVALID_ARGUMENT,
          assertThrows(CoplanException.class, () -> NativeBridge.nativeEdit(handle, null, ignored))
              .getCode());
      assertEquals(
          CoplanException.Code.INVALID_ARGUMENT,
          assertThrows(CoplanException.class, () -> NativeBridge.nativeSession(0)).getCode());
      assertEquals(
          CoplanException.Code.INVALID_ARGUMENT,
          assertThrows(
                  CoplanException.class, () -> NativeBridge.nativeGetPendingState(0, ignored))
              .getCode());
      assertEquals(
          CoplanException.Code.INVALID_ARGUMENT,
          assertThrows(
                  CoplanException.class,
                  () -> NativeBridge.nativeSignIn(handle, null, new byte[0], ignored))
              .getCode());
      assertEquals(
          CoplanException.Code.INVALID_ARGUMENT,
          assertThrows(
                  CoplanException.class,
                  () -> NativeBridge.nativeRemoveListener(handle, 424242, null))
              .getCode());
      assertEquals(
          CoplanException.Code.INVALID_ARGUMENT,
          assertThrows(CoplanException.class, () -> NativeBridge.nativeDestroyCache(null))
              .getCode());
      assertEquals(
          CoplanException.Code.INVALID_ARGUMENT,
          assertThrows(
                  CoplanException.class,
                  () ->
                      NativeBridge.nativeOpen(
                          null, false, null, null, null, null, null, 0, 0, 0, null))
              .getCode());
      // A message format the library does not know.
      assertEquals(
          CoplanException.Code.INVALID_ARGUMENT,
          assertThrows(
                  CoplanException.class,
                  () ->
                      NativeBridge.nativeOpen(
                          "127.0.0.1:1".getBytes(StandardCharsets.UTF_8),
                          false,
                          null,
                          null,
                          null,
                          null,
                          null,
                          0,
                          0,
                          7,
                          null))
              .getCode());
    } finally {
      assertEquals(0, NativeBridge.nativeFree(handle));
    }
    assertEquals(
        CoplanException.Code.INVALID_ARGUMENT.value(), NativeBridge.nativeClose(0));
  }

  @Test
  void callsAfterCloseAreCancelled() throws Exception {
    CoplanClient client = offline();
    TestSupport.Recorder heard = new TestSupport.Recorder();
    Subscription following = client.follow(TestSupport.plan(), heard);
    client.close();
    client.close(); // idempotent
    assertTrue(client.isClosed());
    assertEquals(CoplanException.Code.CANCELLED, failure(client.getPendingState()).getCode());
    assertEquals(
        CoplanException.Code.CANCELLED, failure(client.getDocument(TestSupport.plan())).getCode());
    assertEquals(CoplanException.Code.CANCELLED, failure(client.signIn("a", "b")).getCode());
    assertEquals(
        CoplanException.Code.CANCELLED,
        failure(
                client.resolveConflict(
                    Resolution.newBuilder().setBatchId(1).build()))
            .getCode());
    assertEquals(
        CoplanException.Code.CANCELLED,
        failure(
                client.call(
                    "coplan.v1.PlanService/GetPlan",
                    GetPlanRequest.getDefaultInstance(),
                    Plan.getDefaultInstance()))
            .getCode());
    assertEquals(CoplanException.Code.CANCELLED, failure(following.remove()).getCode());
    assertEquals(
        CoplanException.Code.CANCELLED,
        assertThrows(CoplanException.class, client::session).getCode());
    assertEquals(
        CoplanException.Code.CANCELLED,
        assertThrows(CoplanException.class, () -> client.follow(TestSupport.plan(), heard))
            .getCode());
    assertEquals(
        CoplanException.Code.CANCELLED,
        assertThrows(CoplanException.class, () -> client.addClientListener(heard)).getCode());
  }

  @Test
  @SuppressWarnings("try")
  void closeOnTheCallbackThreadIsRefusedNotADeadlock() throws Exception {
    try (CoplanClient client = offline()) {
      AtomicReference<Throwable> thrown = new AtomicReference<>();
      CountDownLatch done = new CountDownLatch(1);
      // A callback the library runs on its callback thread, which closes the client.
      NativeBridge.nativeGetPendingState(
          client.handle,
          new NativeCallback() {
            @Override
            void onResult(int code, byte[] message, byte[] status, byte[] data, int count) {
              try {
                client.close();
              } catch (Throwable t) {
                thrown.set(t);
              }
              done.countDown();
            }
          });
      assertTrue(done.await(30, TimeUnit.SECONDS));
      assertTrue(thrown.get() instanceof IllegalStateException, String.valueOf(thrown.get()));
      assertFalse(client.isClosed());
      // Calls from the callback thread still work.
      CompletableFuture<PendingState> nested = new CompletableFuture<>();
      client
          .getPendingState()
          .thenCompose(state -> client.getPendingState())
          .whenComplete(
              (value, error) -> {
                if (error != null) {
                  nested.completeExceptionally(error);
                } else {
                  nested.complete(value);
                }
              });
      assertEquals(0, await(nested).getBatchesCount());
    }
  }

  @Test
  void aThousandCallbacksFromNativeThreadsOneThrowing() throws Exception {
    AtomicInteger heard = new AtomicInteger();
    int failuresBefore = TestSupport.listenerFailures();
    NativeCallback target =
        new NativeCallback() {
          @Override
          void onEvent(byte[] data) {
            heard.incrementAndGet();
            if (new String(data, StandardCharsets.UTF_8).equals("2:123")) {
              throw new IllegalStateException("a listener failing on purpose");
            }
          }
        };
    NativeBridge.nativeCallbackStorm(target, 4, 250);
    assertEquals(1000, heard.get());
    assertEquals(failuresBefore + 1, TestSupport.listenerFailures());
    // And the JVM goes on: again, with every one throwing.
    NativeCallback throwing =
        new NativeCallback() {
          @Override
          void onEvent(byte[] data) {
            throw new RuntimeException("every one fails");
          }
        };
    NativeBridge.nativeCallbackStorm(throwing, 4, 50);
    assertEquals(failuresBefore + 1 + 200, TestSupport.listenerFailures());
  }

  @Test
  void aThousandCallsAnsweredOnTheCoreThreadWhileAnotherThreadCloses() throws Exception {
    CoplanClient client = offline();
    List<CompletableFuture<PendingState>> futures = new ArrayList<>();
    Thread[] callers = new Thread[4];
    for (int t = 0; t < callers.length; ++t) {
      callers[t] =
          new Thread(
              () -> {
                for (int i = 0; i < 250; ++i) {
                  CompletableFuture<PendingState> future = client.getPendingState();
                  // A continuation that throws for one of them: the future keeps it.
                  if (i == 100) {
                    future.thenAccept(
                        state -> {
                          throw new IllegalStateException("a continuation failing on purpose");
                        });
                  }
                  synchronized (futures) {
                    futures.add(future);
                  }
                }
              });
      callers[t].start();
    }
    Thread.sleep(5);
    client.close();
    for (Thread caller : callers) caller.join();
    int answered = 0;
    int cancelled = 0;
    for (CompletableFuture<PendingState> future : futures) {
      try {
        future.get(30, TimeUnit.SECONDS);
        ++answered;
      } catch (java.util.concurrent.ExecutionException e) {
        CoplanException error = CoplanException.unwrap(e);
        assertNotNull(error, String.valueOf(e.getCause()));
        assertEquals(CoplanException.Code.CANCELLED, error.getCode());
        ++cancelled;
      }
    }
    assertEquals(1000, answered + cancelled);
  }

  @Test
  void listenersBecomeUnreachableAfterClose() throws Exception {
    WeakReference<TestSupport.Recorder> listener = openFollowAndClose();
    assertTrue(TestSupport.collected(listener), "the listeners are still reachable after close()");
  }

  private static WeakReference<TestSupport.Recorder> openFollowAndClose() throws Exception {
    TestSupport.Recorder recorder = new TestSupport.Recorder();
    CoplanClient client =
        CoplanClient.open(
            new CoplanClient.Options("127.0.0.1:1").setTls(false).setListener(recorder));
    client.follow(TestSupport.plan(), recorder);
    client.addClientListener(recorder);
    try {
      await(client.getPendingState());
      // The client listeners at least (the document may have ended already: offline, no copy).
      assertTrue(NativeBridge.nativeLiveGlobalRefs() >= 2);
    } finally {
      client.close();
    }
    return new WeakReference<>(recorder);
  }

  @Test
  void aRemovedListenerIsReleased() throws Exception {
    try (CoplanClient client = offline()) {
      WeakReference<TestSupport.Recorder> listener = followAndRemove(client);
      assertTrue(TestSupport.collected(listener), "a removed listener is still reachable");
      assertEquals(0, TestSupport.liveGlobalRefsAfterWaiting());
    }
  }

  private static WeakReference<TestSupport.Recorder> followAndRemove(CoplanClient client)
      throws Exception {
    TestSupport.Recorder recorder = new TestSupport.Recorder();
    try (Subscription subscription = client.follow(TestSupport.plan(), recorder)) {
      assertTrue(subscription.getId() != 0);
      await(subscription.remove());
    }
    return new WeakReference<>(recorder);
  }
}
