// The binding's scenarios against a real server (the same as the Java suite's): sign in,
// read the crisis plan, edit it, a live change from another client, the cache offline, an
// edit queued offline, a conflict, a revoked grant, and every error as a CoplanError.
import Foundation
import XCTest

@testable import CoplanKit

final class ScenarioTests: ScenarioCase {
  func testSignIn() async throws {
    let client = try open(Device(harness, "alex"))
    XCTAssertFalse(try client.session().signedIn)
    do {
      try await client.signIn(username: harness.alex, password: "not the password")
      XCTFail("signed in with a wrong password")
    } catch {
      XCTAssertEqual(error.code, .unauthenticated)
      XCTAssertEqual(error.status.code, 16)
      XCTAssertFalse(error.message.isEmpty)
    }
    let session = try await client.signIn(username: harness.alex, password: harness.password)
    XCTAssertTrue(session.signedIn)
    XCTAssertEqual(session.person, "people/\(harness.alex)")
    XCTAssertTrue(session.session.hasPrefix("people/\(harness.alex)/sessions/"))
    XCTAssertEqual(try client.session(), session)
  }

  func testReadTheCrisisPlan() async throws {
    let (client, _) = try await signedIn(harness.alex)
    let followed = Recorder(client.follow(harness.plan))
    let live = try await followed.first { $0.document?.live == true }
    let document = try XCTUnwrap(live?.document, "no live document event")
    XCTAssertEqual(document.name, harness.plan)
    XCTAssertEqual(document.document?.plan?.title, "My crisis plan")
    let ids = document.document?.plan?.crisisPlan?.warningSigns.map(\.id) ?? []
    XCTAssertTrue(Set(["w0", "w1", "w2"]).isSubset(of: Set(ids)), "warning signs \(ids)")
    XCTAssertGreaterThan(document.serverRevision, 0)
    XCTAssertNotNil(document.lastSyncedTime)
    let value1 = try await client.openStreamCount()
    XCTAssertEqual(value1, 1)
    // The typed call by name: the same plan from the server.
    let plan = try await serverPlan(client)
    XCTAssertEqual(plan.name, harness.plan)
    XCTAssertEqual(plan.revision, document.serverRevision)
  }

  func testEditTheCrisisPlan() async throws {
    let (client, _) = try await signedIn(harness.alex)
    try await followLive(client)
    let text = "text my sister \(UUID().uuidString.prefix(6))"
    let queued = try await client.edit(insertWarningSign(harness.plan, text))
    XCTAssertGreaterThan(queued.batch?.id ?? 0, 0)
    XCTAssertEqual(queued.batch?.state, .queued)
    XCTAssertTrue(queued.document?.warningSignTexts.contains(text) ?? false)
    try await client.flush(timeout: .seconds(20))
    let accepted = try await Recorder(client.events).first { $0.accepted != nil }
    XCTAssertEqual(accepted?.accepted?.document, harness.plan)
    let value2 = try await client.pendingState().batches.isEmpty
    XCTAssertTrue(value2)
    let value3 = try await serverPlan(client).warningSignTexts.contains(text)
    XCTAssertTrue(value3)
    let cached = try await client.document(harness.plan)
    XCTAssertTrue(cached.warningSignTexts.contains(text))
    XCTAssertEqual(cached.pendingBatches, 0)
  }

  func testALiveChangeFromAnotherClient() async throws {
    let (alex, _) = try await signedIn(harness.alex)
    let (clinician, _) = try await signedIn(harness.clinician)
    let followed = Recorder(alex.follow(harness.plan))
    _ = try await followed.first { $0.document?.live == true }
    try await followLive(clinician)
    let text = "the clinician's sign \(UUID().uuidString.prefix(6))"
    try await clinician.edit(insertWarningSign(harness.plan, text))
    try await clinician.flush()
    let changed = try await followed.first { $0.document?.warningSignTexts.contains(text) == true }
    XCTAssertNotNil(changed, "Alex did not hear the clinician's change")
    XCTAssertEqual(changed?.document?.live, true)
  }

  func testReadOfflineFromTheCache() async throws {
    let device = Device(harness, "alex-offline")
    do {
      let (client, _) = try await signedIn(harness.alex, device)
      _ = try await Recorder(client.follow(harness.plan)).first { $0.document?.live == true }
      client.close()
    }
    try harness.stopServer()
    let offline = try open(device)
    XCTAssertTrue(try offline.session().signedIn, "the session did not survive the restart")
    let cached = try await offline.document(harness.plan)
    XCTAssertEqual(cached.document?.plan?.title, "My crisis plan")
    XCTAssertFalse(cached.live)
    XCTAssertNotNil(cached.lastSyncedTime, "a stale copy must say when it was last synced")
    let followed = Recorder(offline.follow(harness.plan))
    let first = try await followed.first(timeout: 10) { $0.document != nil }
    XCTAssertEqual(first?.document?.live, false)
    try harness.startServer()
  }

  func testAnEditQueuedOfflineArrivesAfterTheRestart() async throws {
    let device = Device(harness, "alex-queue")
    let (client, _) = try await signedIn(harness.alex, device)
    _ = try await Recorder(client.follow(harness.plan)).first { $0.document?.live == true }
    let events = Recorder(client.events)
    try harness.stopServer()
    let text = "call the crisis line \(UUID().uuidString.prefix(6))"
    let queued = try await client.edit(insertWarningSign(harness.plan, text))
    XCTAssertTrue(queued.document?.warningSignTexts.contains(text) ?? false)
    let pending = try await client.pendingState()
    XCTAssertEqual(pending.batches.count, 1)
    let value4 = try await client.document(harness.plan).pendingBatches
    XCTAssertEqual(value4, 1)
    do {
      try await client.flush(timeout: .milliseconds(300))
      XCTFail("flushed while the server is down")
    } catch {
      XCTAssertEqual(error.code, .deadlineExceeded)
    }
    try harness.startServer()
    try await client.flush(timeout: .seconds(30))
    let accepted = try await events.first { $0.accepted?.document == harness.plan }
    XCTAssertNotNil(accepted)
    let value5 = try await client.pendingState().batches.isEmpty
    XCTAssertTrue(value5)
    let (clinician, _) = try await signedIn(harness.clinician)
    let value6 = try await serverPlan(clinician).warningSignTexts.contains(text)
    XCTAssertTrue(value6)
  }

  func testAConflictShowsBothValues() async throws {
    let device = Device(harness, "alex-conflict")
    let path = "crisis_plan.warning_signs[w1]"
    do {
      let (client, _) = try await signedIn(harness.alex, device)
      _ = try await Recorder(client.follow(harness.plan)).first { $0.document?.live == true }
      client.close()
    }
    // Offline, Alex rewords w1; meanwhile the clinician rewords it too.
    try harness.stopServer()
    do {
      let offline = try open(device)
      var request = EditRequest()
      request.document = harness.plan
      request.operations = [updateItem(path, text: "not sleeping")]
      try await offline.edit(request)
      offline.close()
    }
    try harness.startServer()
    let (clinician, _) = try await signedIn(harness.clinician)
    var theirs = Coplan_V1_EditDocumentRequest()
    theirs.name = harness.plan
    theirs.baseRevision = try await serverPlan(clinician).revision
    theirs.idempotencyKey = UUID().uuidString
    theirs.operations = [updateItem(path, text: "awake all night")]
    _ = try await clinician.call(Coplan_V1_EditingService.editDocument, theirs)

    let online = try open(device)
    let events = Recorder(online.events)
    let heard = try await events.first { $0.conflict != nil }
    let conflict = try XCTUnwrap(heard?.conflict, "no conflict surfaced")
    XCTAssertTrue(conflict.path.contains("w1"), conflict.path)
    XCTAssertEqual(conflictText(conflict.mine), "not sleeping", "mine: \(String(describing: conflict.mine))")
    XCTAssertEqual(conflictText(conflict.theirs), "awake all night")
    XCTAssertEqual(conflict.batch?.state, .conflict)
    let pending = try await online.pendingState()
    XCTAssertEqual(pending.conflicts.count, 1)
    // Alex keeps their own words, applied on the current revision.
    try await online.resolveConflict(batchID: try XCTUnwrap(conflict.batch?.id), choice: .keepMine)
    try await online.flush(timeout: .seconds(30))
    let plan = try await serverPlan(clinician)
    XCTAssertEqual(plan.crisisPlan?.warningSigns.first { $0.id == "w1" }?.text, "not sleeping")
  }

  func testARevokedGrantIsReported() async throws {
    let (carer, _) = try await signedIn(harness.carer)
    let followed = Recorder(carer.follow(harness.plan))
    let live = try await followed.first { $0.document?.live == true }
    XCTAssertNotNil(live, "the carer cannot see the plan")
    let (alex, _) = try await signedIn(harness.alex)
    var revoke = Coplan_V1_RevokeGrantRequest()
    revoke.name = harness.carerGrant
    let grant = try await alex.call(Coplan_V1_PeopleService.revokeGrant, revoke)
    XCTAssertEqual(grant.name, harness.carerGrant)
    guard case .failed(let error)? = try await followed.ended() else {
      return XCTFail("the stream did not end with an error")
    }
    XCTAssertEqual(error.code, .notFound)
    do {
      _ = try await carer.document(harness.plan)
      XCTFail("the revoked plan is still on the carer's device")
    } catch {
      XCTAssertEqual(error.code, .notFound)
    }
  }
}
