package app.coplan.mobile;

import static app.coplan.mobile.TestSupport.await;
import static app.coplan.mobile.TestSupport.control;
import static app.coplan.mobile.TestSupport.failure;
import static app.coplan.mobile.TestSupport.insertWarningSign;
import static app.coplan.mobile.TestSupport.options;
import static app.coplan.mobile.TestSupport.password;
import static app.coplan.mobile.TestSupport.plan;
import static app.coplan.mobile.TestSupport.warningSigns;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import app.coplan.client.v1.CachedDocument;
import app.coplan.client.v1.Conflict;
import app.coplan.client.v1.EditQueued;
import app.coplan.client.v1.PendingBatch;
import app.coplan.client.v1.PendingState;
import app.coplan.client.v1.Resolution;
import app.coplan.client.v1.SessionState;
import app.coplan.v1.EditDocumentRequest;
import app.coplan.v1.EditDocumentResponse;
import app.coplan.v1.GetPlanRequest;
import app.coplan.v1.Grant;
import app.coplan.v1.ListPlansRequest;
import app.coplan.v1.ListPlansResponse;
import app.coplan.v1.Plan;
import app.coplan.v1.RevokeGrantRequest;
import com.google.rpc.ErrorInfo;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * The crisis-plan scenarios against the real server (the same as the Swift suite's): sign
 * in, read, edit, a live change by another client, offline from the cache with the server
 * stopped, an edit queued offline arriving after a restart, a conflict with both values, a
 * revoked grant, and the errors as CoplanException with their gRPC codes. In order: each
 * builds on the device state the one before left.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class CrisisPlanScenarioTest {
  private static final String ALEX_CACHE = "alex.cache";

  /** A client of the clinician's, without a cache, signed in. */
  private static CoplanClient clinician() {
    try {
      CoplanClient client = CoplanClient.open(options(null, 0));
      await(client.signIn(TestSupport.env("COPLAN_TEST_CLINICIAN"), password()));
      return client;
    } catch (CoplanException e) {
      throw new AssertionError(e);
    }
  }

  private static Plan serverPlan(CoplanClient client) {
    return await(
        client.call(
            "coplan.v1.PlanService/GetPlan",
            GetPlanRequest.newBuilder().setName(plan()).build(),
            Plan.getDefaultInstance()));
  }

  /**
   * Waits until the device's queue is empty (every batch accepted or refused), polling: it
   * does not need the sync stream, unlike flush().
   */
  private static void waitSent(CoplanClient client) throws InterruptedException {
    long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(60);
    PendingState pending = await(client.getPendingState());
    while (pending.getBatchesCount() > 0 && System.nanoTime() < deadline) {
      Thread.sleep(50);
      pending = await(client.getPendingState());
    }
    assertEquals(0, pending.getBatchesCount(), "still queued after 60 s: " + pending);
  }

  @org.junit.jupiter.api.BeforeEach
  void say(org.junit.jupiter.api.TestInfo test) {
    // Unbuffered, so that a crash still says where it happened.
    System.err.println("-- " + test.getDisplayName());
  }

  @AfterAll
  static void everythingReleased() throws Exception {
    control("ping");
    assertEquals(0, TestSupport.liveGlobalRefsAfterWaiting(), "JNI global references left");
  }

  @Test
  @Order(1)
  void signsInAndReadsTheCrisisPlan() throws Exception {
    TestSupport.Recorder events = new TestSupport.Recorder();
    try (CoplanClient alex = CoplanClient.open(options(ALEX_CACHE, 1).setListener(events))) {
      assertFalse(alex.session().getSignedIn());
      CoplanException wrong =
          failure(alex.signIn(TestSupport.env("COPLAN_TEST_ALEX"), "not the password"));
      assertEquals(CoplanException.Code.UNAUTHENTICATED, wrong.getCode());
      assertEquals(16, wrong.getStatus().getCode());

      SessionState session = await(alex.signIn(TestSupport.env("COPLAN_TEST_ALEX"), password()));
      assertTrue(session.getSignedIn());
      assertTrue(session.getPerson().startsWith("people/"), session.getPerson());
      assertEquals(session, alex.session());

      // The API by name: Alex's plans include the crisis plan.
      ListPlansResponse plans =
          await(
              alex.call(
                  "coplan.v1.PlanService/ListPlans",
                  ListPlansRequest.newBuilder().setParent("people/me").build(),
                  ListPlansResponse.getDefaultInstance()));
      assertTrue(plans.getPlansList().stream().anyMatch(p -> p.getName().equals(plan())));

      // Followed: the document arrives live, with its warning signs.
      TestSupport.Recorder heard = new TestSupport.Recorder();
      Subscription following = alex.follow(plan(), heard);
      CachedDocument live = heard.waitFor(CachedDocument.class, CachedDocument::getLive, "live");
      assertEquals(plan(), live.getName());
      assertEquals(3, warningSigns(live).size(), warningSigns(live).toString());
      assertEquals(warningSigns(serverPlan(alex)), warningSigns(live));
      CachedDocument read = await(alex.getDocument(plan()));
      assertEquals(warningSigns(live), warningSigns(read));
      assertTrue(read.hasLastSyncedTime());
      assertEquals(1, (int) await(alex.countOpenStreams()));
      await(following.remove());
    }
  }

  @Test
  @Order(2)
  void editsThePlanAndTheServerHasIt() throws Exception {
    TestSupport.Recorder events = new TestSupport.Recorder();
    try (CoplanClient alex = CoplanClient.open(options(ALEX_CACHE, 1).setListener(events))) {
      assertTrue(alex.session().getSignedIn(), "still signed in after a restart");
      TestSupport.Recorder heard = new TestSupport.Recorder();
      alex.follow(plan(), heard);
      EditQueued queued = await(alex.edit(insertWarningSign(plan(), "text my sister")));
      assertTrue(warningSigns(queued.getDocument()).contains("text my sister"));
      assertEquals(1, queued.getDocument().getPendingBatches());
      heard.waitFor(
          CachedDocument.class,
          d -> warningSigns(d).contains("text my sister"),
          "the edit on the device at once");
      // Text crosses JNI as real UTF-8 (JNI's modified UTF-8 would break these).
      String words = "Zo\u00eb can't sleep \ud83d\ude22 \u2014 \u5e2e\u52a9 \u0000 end";
      await(alex.edit(insertWarningSign(plan(), words)));
      await(alex.flush(20_000));
      assertTrue(warningSigns(serverPlan(alex)).contains(words), "non-ASCII text");
      assertTrue(warningSigns(await(alex.getDocument(plan()))).contains(words));
      events.waitFor(
          app.coplan.client.v1.AcceptedBatch.class,
          a -> a.getDocument().equals(plan()),
          "the accepted edit");
      assertEquals(0, await(alex.getPendingState()).getBatchesCount());
      assertTrue(warningSigns(serverPlan(alex)).contains("text my sister"));
    }
  }

  @Test
  @Order(3)
  void hearsALiveChangeByAnotherClient() throws Exception {
    try (CoplanClient alex = CoplanClient.open(options(ALEX_CACHE, 1));
        CoplanClient clinician = clinician()) {
      TestSupport.Recorder heard = new TestSupport.Recorder();
      // A listener that throws on every event: reported, cleared, and nothing else changes.
      int failuresBefore = TestSupport.listenerFailures();
      alex.follow(
          plan(),
          document -> {
            throw new IllegalStateException("a listener that throws, on purpose");
          });
      alex.follow(plan(), heard);
      heard.waitFor(CachedDocument.class, CachedDocument::getLive, "live");

      Plan current = serverPlan(clinician);
      EditDocumentResponse changed =
          await(
              clinician.call(
                  "coplan.v1.EditingService/EditDocument",
                  EditDocumentRequest.newBuilder()
                      .setName(plan())
                      .setBaseRevision(current.getRevision())
                      .setIdempotencyKey(UUID.randomUUID().toString())
                      .addOperations(
                          insertWarningSign(plan(), "seen by the clinic").getOperations(0))
                      .build(),
                  EditDocumentResponse.getDefaultInstance()));
      assertEquals(current.getRevision() + 1, changed.getRevision());
      CachedDocument live =
          heard.waitFor(
              CachedDocument.class,
              d -> warningSigns(d).contains("seen by the clinic"),
              "the clinician's change, live");
      assertEquals(changed.getRevision(), live.getServerRevision());
      assertTrue(TestSupport.listenerFailures() > failuresBefore, "the throwing listener ran");
    }
  }

  @Test
  @Order(4)
  void readsThePlanOfflineFromTheCacheWithTheServerStopped() throws Exception {
    java.util.concurrent.CompletableFuture<Void> unanswered;
    control("stop");
    try {
      try (CoplanClient alex = CoplanClient.open(options(ALEX_CACHE, 1))) {
        assertTrue(alex.session().getSignedIn());
        CachedDocument copy = await(alex.getDocument(plan()));
        assertFalse(copy.getLive());
        assertTrue(copy.hasLastSyncedTime());
        assertTrue(warningSigns(copy).contains("text my sister"));
        assertTrue(warningSigns(copy).contains("seen by the clinic"));
        // The server by name: an error, not a hang.
        CoplanException offline =
            failure(
                alex.call(
                    "coplan.v1.PlanService/GetPlan",
                    GetPlanRequest.newBuilder().setName(plan()).build(),
                    Plan.getDefaultInstance()));
        assertTrue(
            offline.getCode() == CoplanException.Code.UNAVAILABLE
                || offline.getCode() == CoplanException.Code.DEADLINE_EXCEEDED,
            offline.toString());
        // Followed, the copy cannot go live: a flush runs out of time...
        TestSupport.Recorder heard = new TestSupport.Recorder();
        alex.follow(plan(), heard);
        heard.waitFor(CachedDocument.class, d -> !d.getLive(), "the cached copy");
        assertEquals(CoplanException.Code.DEADLINE_EXCEEDED, failure(alex.flush(300)).getCode());
        // ... and one still waiting when the client closes is CANCELLED.
        unanswered = alex.flush(60_000);
      }
      assertEquals(CoplanException.Code.CANCELLED, failure(unanswered).getCode());
      // Without the key the cache does not open.
      CoplanException wrongKey =
          assertThrows(CoplanException.class, () -> CoplanClient.open(options(ALEX_CACHE, 2)));
      assertEquals(CoplanException.Code.DATA_LOSS, wrongKey.getCode());
      ErrorInfo info = wrongKey.getDetail(ErrorInfo.getDefaultInstance());
      assertNotNull(info, wrongKey.getStatus().toString());
      assertEquals("CACHE_UNREADABLE", info.getReason());
    } finally {
      control("start");
    }
  }

  @Test
  @Order(5)
  void queuesAnEditOfflineThatArrivesAfterARestart() throws Exception {
    control("stop");
    try {
      try (CoplanClient alex = CoplanClient.open(options(ALEX_CACHE, 1))) {
        EditQueued queued = await(alex.edit(insertWarningSign(plan(), "call the crisis line")));
        assertTrue(warningSigns(queued.getDocument()).contains("call the crisis line"));
        PendingState pending = await(alex.getPendingState());
        assertEquals(1, pending.getBatchesCount());
        assertEquals(PendingBatch.State.STATE_QUEUED, pending.getBatches(0).getState());
      }
      // The app is killed and started again, still offline: the edit waits in the queue.
      try (CoplanClient alex = CoplanClient.open(options(ALEX_CACHE, 1))) {
        assertEquals(1, await(alex.getDocument(plan())).getPendingBatches());
      }
    } finally {
      control("start");
    }
    TestSupport.Recorder events = new TestSupport.Recorder();
    try (CoplanClient alex = CoplanClient.open(options(ALEX_CACHE, 1).setListener(events));
        CoplanClient clinician = clinician()) {
      events.waitFor(app.coplan.client.v1.AcceptedBatch.class, a -> true, "the accepted edit");
      waitSent(alex);
      assertEquals(0, await(alex.getDocument(plan())).getPendingBatches());
      assertTrue(warningSigns(serverPlan(clinician)).contains("call the crisis line"));
    }
  }

  @Test
  @Order(6)
  void surfacesAConflictWithBothValues() throws Exception {
    String signId;
    try (CoplanClient clinician = clinician()) {
      signId = serverPlan(clinician).getCrisisPlan().getWarningSigns(0).getId();
    }
    String path = "crisis_plan.warning_signs[" + signId + "]";
    // Offline, Alex rewords a warning sign; meanwhile the clinician rewords the same one.
    control("stop");
    try {
      try (CoplanClient alex = CoplanClient.open(options(ALEX_CACHE, 1))) {
        await(
            alex.edit(
                app.coplan.client.v1.EditRequest.newBuilder()
                    .setDocument(plan())
                    .addOperations(TestSupport.reword(path, "not sleeping"))
                    .build()));
      }
    } finally {
      control("start");
    }
    try (CoplanClient clinician = clinician()) {
      Plan current = serverPlan(clinician);
      await(
          clinician.call(
              "coplan.v1.EditingService/EditDocument",
              EditDocumentRequest.newBuilder()
                  .setName(plan())
                  .setBaseRevision(current.getRevision())
                  .setIdempotencyKey(UUID.randomUUID().toString())
                  .addOperations(TestSupport.reword(path, "awake all night"))
                  .build(),
              EditDocumentResponse.getDefaultInstance()));
    }
    TestSupport.Recorder events = new TestSupport.Recorder();
    try (CoplanClient alex = CoplanClient.open(options(ALEX_CACHE, 1).setListener(events));
        CoplanClient clinician = clinician()) {
      Conflict conflict = events.waitFor(Conflict.class, c -> true, "the conflict");
      assertTrue(conflict.getPath().contains(signId), conflict.getPath());
      assertTrue(conflict.getMine().toString().contains("not sleeping"), conflict.toString());
      assertTrue(conflict.getTheirs().toString().contains("awake all night"), conflict.toString());
      PendingState pending = await(alex.getPendingState());
      assertEquals(1, pending.getConflictsCount());
      assertEquals(PendingBatch.State.STATE_CONFLICT, pending.getBatches(0).getState());

      // Alex keeps their own words, applied on the current revision.
      await(
          alex.resolveConflict(
              Resolution.newBuilder()
                  .setBatchId(conflict.getBatch().getId())
                  .setChoice(Resolution.Choice.CHOICE_KEEP_MINE)
                  .build()));
      waitSent(alex);
      assertEquals("not sleeping", serverPlan(clinician).getCrisisPlan().getWarningSigns(0).getText());
      // Resolving it again: the batch is gone.
      CoplanException again =
          failure(
              alex.resolveConflict(
                  Resolution.newBuilder()
                      .setBatchId(conflict.getBatch().getId())
                      .setChoice(Resolution.Choice.CHOICE_TAKE_THEIRS)
                      .build()));
      assertFalse(again.getCode() == CoplanException.Code.OK);
    }
  }

  @Test
  @Order(7)
  void reportsARevokedGrant() throws Exception {
    try (CoplanClient carer = CoplanClient.open(options("carer.cache", 3));
        CoplanClient alex = CoplanClient.open(options(ALEX_CACHE, 1))) {
      await(carer.signIn(TestSupport.env("COPLAN_TEST_CARER"), password()));
      TestSupport.Recorder heard = new TestSupport.Recorder();
      carer.follow(plan(), heard);
      heard.waitFor(CachedDocument.class, CachedDocument::getLive, "the shared plan, live");
      assertTrue(await(carer.getDocument(plan())).hasDocument());
      Grant revoked =
          await(
              alex.call(
                  "coplan.v1.PeopleService/RevokeGrant",
                  RevokeGrantRequest.newBuilder()
                      .setName(TestSupport.env("COPLAN_TEST_CARER_GRANT"))
                      .build(),
                  Grant.getDefaultInstance()));
      assertEquals(TestSupport.env("COPLAN_TEST_CARER_GRANT"), revoked.getName());
      CoplanException ended = heard.waitFor(CoplanException.class, e -> true, "the end");
      assertEquals(CoplanException.Code.NOT_FOUND, ended.getCode());
      assertEquals(
          CoplanException.Code.NOT_FOUND, failure(carer.getDocument(plan())).getCode());
    }
  }

  @Test
  @Order(8)
  @SuppressWarnings("try")
  void mapsEveryErrorToCoplanExceptionWithItsCode() throws Exception {
    try (CoplanClient alex = CoplanClient.open(options(ALEX_CACHE, 1))) {
      // NOT_FOUND from the server, with its status.
      CoplanException missing =
          failure(
              alex.call(
                  "coplan.v1.PlanService/GetPlan",
                  GetPlanRequest.newBuilder().setName(plan() + "nope").build(),
                  Plan.getDefaultInstance()));
      assertEquals(CoplanException.Code.NOT_FOUND, missing.getCode());
      assertEquals(5, missing.getStatus().getCode());
      assertEquals(
          CoplanException.Code.NOT_FOUND,
          failure(alex.getGridVersion("optionGrids/no-such-grid/versions/1")).getCode());
      // INVALID_ARGUMENT for an edit the server would refuse, naming the field.
      CoplanException bad =
          failure(
              alex.edit(
                  app.coplan.client.v1.EditRequest.newBuilder()
                      .setDocument(plan())
                      .addOperations(
                          app.coplan.v1.EditOperation.newBuilder()
                              .setRemoveItem(
                                  app.coplan.v1.RemoveItem.newBuilder()
                                      .setItemPath("crisis_plan.warning_signs[nope]")))
                      .build()));
      assertEquals(CoplanException.Code.INVALID_ARGUMENT, bad.getCode());
      assertTrue(
          bad.getStatus().getMessage().contains("operations[0].remove_item.item_path"),
          bad.getStatus().toString());
      // PERMISSION_DENIED or NOT_FOUND for someone else's grant: never silently allowed.
      CoplanException denied =
          failure(
              alex.call(
                  "coplan.v1.PeopleService/RevokeGrant",
                  RevokeGrantRequest.newBuilder().setName("people/someone-else/grants/1").build(),
                  Grant.getDefaultInstance()));
      assertTrue(
          denied.getCode() == CoplanException.Code.PERMISSION_DENIED
              || denied.getCode() == CoplanException.Code.NOT_FOUND
              || denied.getCode() == CoplanException.Code.INVALID_ARGUMENT,
          denied.toString());
      // DEADLINE_EXCEEDED from a flush that cannot finish in time is exercised offline in
      // BadInputTest; CANCELLED after close below.
      alex.close();
      assertEquals(CoplanException.Code.CANCELLED, failure(alex.getPendingState()).getCode());
    }
    // Signing out wipes the device.
    try (CoplanClient alex = CoplanClient.open(options(ALEX_CACHE, 1))) {
      await(alex.signOut());
      assertFalse(alex.session().getSignedIn());
      assertEquals(CoplanException.Code.NOT_FOUND, failure(alex.getDocument(plan())).getCode());
    }
  }
}
