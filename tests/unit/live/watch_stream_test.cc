// The watch stream's queue state machine, driven through a fake sink: one write in flight,
// strict revision order per target, overflow that tells the reader where to resume,
// catch-up pacing, and every way a stream ends.
#include "server/live/watch_stream.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <vector>

#include "google/rpc/error_details.pb.h"
#include "server/common/errors.h"

namespace coplan {
namespace {

using ::testing::ElementsAre;

// Records what the stream writes; the test plays gRPC by calling OnWriteDone / OnDone.
class FakeSink : public EventSink {
 public:
  void Bind(std::shared_ptr<SinkListener> listener) override { listener_ = listener; }
  void Send(const StreamItem& item) override {
    ASSERT_FALSE(writing_) << "a second write started before the first finished";
    writing_ = true;
    items_.push_back(item.target);
    if (item.event != nullptr) {
      sent_.push_back(*item.event);
    } else {
      ASSERT_NE(item.target_end, nullptr);
      ended_targets_.push_back({item.target, *item.target_end});
    }
  }
  void Close(const absl::Status& status) override {
    ASSERT_FALSE(closed_.has_value()) << "closed twice";
    ASSERT_FALSE(writing_) << "closed with a write in flight";
    closed_ = status;
  }

  // Completes the write in flight (as gRPC would).
  void CompleteWrite(bool ok = true) {
    ASSERT_TRUE(writing_);
    writing_ = false;
    listener_->OnWriteDone(ok);
  }
  void CompleteAll() {
    while (writing_) CompleteWrite();
  }
  // The call is over (after Close).
  void Done() { listener_->OnDone(); }

  bool writing() const { return writing_; }
  const std::vector<v1::WatchEvent>& sent() const { return sent_; }
  const std::vector<int>& item_targets() const { return items_; }
  const std::vector<std::pair<int, absl::Status>>& ended_targets() const { return ended_targets_; }
  const std::optional<absl::Status>& closed() const { return closed_; }
  std::vector<int64_t> sent_revisions() const {
    std::vector<int64_t> out;
    for (const auto& event : sent_) {
      if (event.has_change()) out.push_back(event.change().revision());
    }
    return out;
  }

 private:
  std::shared_ptr<SinkListener> listener_;
  bool writing_ = false;
  std::vector<int> items_;  // the target of every item written
  std::vector<v1::WatchEvent> sent_;
  std::vector<std::pair<int, absl::Status>> ended_targets_;
  std::optional<absl::Status> closed_;
};

WatchStream::Event Change(int64_t revision) {
  auto event = std::make_shared<v1::WatchEvent>();
  event->mutable_change()->set_revision(revision);
  return event;
}

WatchStream::Event Presence(const std::string& person) {
  auto event = std::make_shared<v1::WatchEvent>();
  event->mutable_presence()->add_present()->set_person(person);
  return event;
}

struct Fixture {
  explicit Fixture(size_t limit = 4, WatchStream::Kind kind = WatchStream::Kind::kSingle)
      : stream(std::make_shared<WatchStream>(&sink, limit, kind)) {
    sink.Bind(stream);
  }
  // Adds `target` at `start` and returns it.
  WatchStream::Target Add(WatchStream::Target target, int64_t start) {
    EXPECT_TRUE(stream->AddTarget(target, start));
    return target;
  }
  FakeSink sink;
  std::shared_ptr<WatchStream> stream;
};

TEST(WatchStreamTest, WritesOneEventAtATimeInOrder) {
  Fixture f;
  const auto target = f.Add(0, 10);
  EXPECT_EQ(f.stream->OfferChange(target, 11, Change(11)), WatchStream::Offer::kQueued);
  EXPECT_EQ(f.stream->OfferChange(target, 12, Change(12)), WatchStream::Offer::kQueued);
  EXPECT_EQ(f.sink.sent().size(), 1u);  // the second waits for the first to finish
  f.sink.CompleteWrite();
  EXPECT_EQ(f.sink.sent().size(), 2u);
  f.sink.CompleteAll();
  EXPECT_THAT(f.sink.sent_revisions(), ElementsAre(11, 12));
  EXPECT_EQ(f.stream->last_queued(target), 12);
  EXPECT_FALSE(f.sink.closed().has_value());
}

TEST(WatchStreamTest, DuplicatesAreDroppedAndGapsReported) {
  Fixture f;
  const auto target = f.Add(0, 5);
  EXPECT_EQ(f.stream->OfferChange(target, 5, Change(5)), WatchStream::Offer::kDuplicate);
  EXPECT_EQ(f.stream->OfferChange(target, 7, Change(7)), WatchStream::Offer::kGap);
  EXPECT_EQ(f.stream->OfferChange(target, 6, Change(6)), WatchStream::Offer::kQueued);
  EXPECT_EQ(f.stream->OfferChange(target, 6, Change(6)), WatchStream::Offer::kDuplicate);
  EXPECT_EQ(f.stream->OfferChange(target, 7, Change(7)), WatchStream::Offer::kQueued);
  f.sink.CompleteAll();
  EXPECT_THAT(f.sink.sent_revisions(), ElementsAre(6, 7));
}

TEST(WatchStreamTest, TargetsKeepTheirOwnOrder) {
  Fixture f(4, WatchStream::Kind::kSync);
  const auto a = f.Add(1, 1);
  const auto b = f.Add(2, 100);
  EXPECT_FALSE(f.stream->AddTarget(2, 5));  // the id is taken
  EXPECT_EQ(f.stream->OfferChange(a, 2, Change(2)), WatchStream::Offer::kQueued);
  EXPECT_EQ(f.stream->OfferChange(b, 101, Change(101)), WatchStream::Offer::kQueued);
  EXPECT_EQ(f.stream->OfferChange(b, 2, Change(2)), WatchStream::Offer::kDuplicate);
  EXPECT_EQ(f.stream->last_queued(a), 2);
  EXPECT_EQ(f.stream->last_queued(b), 101);
  f.sink.CompleteAll();
  EXPECT_THAT(f.sink.item_targets(), ElementsAre(1, 2));
}

TEST(WatchStreamTest, OneTargetEndsAloneOnASyncStream) {
  Fixture f(8, WatchStream::Kind::kSync);
  const auto a = f.Add(1, 0);
  const auto b = f.Add(2, 0);
  f.stream->OfferChange(a, 1, Change(1));  // in flight
  f.stream->OfferChange(b, 1, Change(1));
  f.stream->OfferChange(a, 2, Change(2));
  f.stream->OfferChange(b, 2, Change(2));
  f.stream->EndTarget(a, absl::NotFoundError("no longer shared"));
  EXPECT_TRUE(f.stream->TargetEnded(a));
  EXPECT_FALSE(f.stream->TargetEnded(b));
  EXPECT_EQ(f.stream->OfferChange(a, 3, Change(3)), WatchStream::Offer::kClosed);
  EXPECT_EQ(f.stream->OfferChange(b, 3, Change(3)), WatchStream::Offer::kQueued);
  f.sink.CompleteAll();
  // a's queued change 2 was dropped; its end was sent; b goes on.
  EXPECT_THAT(f.sink.item_targets(), ElementsAre(1, 2, 2, 1, 2));
  ASSERT_EQ(f.sink.ended_targets().size(), 1u);
  EXPECT_EQ(f.sink.ended_targets()[0].first, 1);
  EXPECT_EQ(f.sink.ended_targets()[0].second.code(), absl::StatusCode::kNotFound);
  EXPECT_FALSE(f.sink.closed().has_value());
  // A removed target is forgotten without a word; the id can be used again.
  f.stream->RemoveTarget(b);
  EXPECT_EQ(f.stream->OfferChange(b, 4, Change(4)), WatchStream::Offer::kClosed);
  EXPECT_TRUE(f.stream->AddTarget(b, 10));
  EXPECT_EQ(f.sink.ended_targets().size(), 1u);
}

TEST(WatchStreamTest, ASingleTargetStreamEndsWithItsTarget) {
  Fixture f;
  const auto target = f.Add(0, 0);
  f.stream->EndTarget(target, absl::NotFoundError("gone"));
  ASSERT_TRUE(f.sink.closed().has_value());
  EXPECT_EQ(f.sink.closed()->code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(f.sink.ended_targets().empty());
}

TEST(WatchStreamTest, AnOverflowingSyncStreamSaysWhereEachTargetResumes) {
  Fixture f(/*limit=*/2, WatchStream::Kind::kSync);
  const auto a = f.Add(3, 10);
  const auto b = f.Add(7, 50);
  f.stream->OfferChange(a, 11, Change(11));  // in flight
  f.sink.CompleteWrite();                    // written
  f.stream->OfferChange(b, 51, Change(51));  // in flight
  f.stream->OfferChange(a, 12, Change(12));
  f.stream->OfferChange(b, 52, Change(52));
  EXPECT_EQ(f.stream->OfferChange(a, 13, Change(13)), WatchStream::Offer::kClosed);
  f.sink.CompleteWrite();
  ASSERT_TRUE(f.sink.closed().has_value());
  google::rpc::ErrorInfo info;
  ASSERT_TRUE(ReadDetail(*f.sink.closed(), info));
  EXPECT_EQ(info.reason(), "WATCH_TOO_SLOW");
  EXPECT_EQ(info.metadata().at("target.3"), "11");
  EXPECT_EQ(info.metadata().at("target.7"), "51");
}

TEST(WatchStreamTest, ALiveChangeThatOverflowsEndsTheStreamWithWhereToResume) {
  Fixture f(/*limit=*/2);
  const auto target = f.Add(0, 0);
  ASSERT_EQ(f.stream->OfferChange(target, 1, Change(1)), WatchStream::Offer::kQueued);  // in flight
  f.sink.CompleteWrite();  // revision 1 reached the reader
  ASSERT_EQ(f.stream->OfferChange(target, 2, Change(2)), WatchStream::Offer::kQueued);  // in flight
  ASSERT_EQ(f.stream->OfferChange(target, 3, Change(3)), WatchStream::Offer::kQueued);
  ASSERT_EQ(f.stream->OfferChange(target, 4, Change(4)), WatchStream::Offer::kQueued);
  // The queue (2) is full: a catch-up read is told to wait, a live change ends the stream.
  EXPECT_EQ(f.stream->OfferChange(target, 5, Change(5), /*catch_up=*/true),
            WatchStream::Offer::kFull);
  EXPECT_FALSE(f.stream->ended());
  EXPECT_EQ(f.stream->OfferChange(target, 5, Change(5)), WatchStream::Offer::kClosed);
  EXPECT_TRUE(f.stream->ended());
  EXPECT_FALSE(f.sink.closed().has_value());  // revision 2 is still being written
  f.sink.CompleteWrite();
  ASSERT_TRUE(f.sink.closed().has_value());
  const absl::Status& status = *f.sink.closed();
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted);
  google::rpc::ErrorInfo info;
  ASSERT_TRUE(ReadDetail(status, info));
  EXPECT_EQ(info.reason(), "WATCH_TOO_SLOW");
  // 2 was written whole before the end; 3 and 4 were dropped and come again on resume.
  EXPECT_EQ(info.metadata().at("resume_after_revision"), "2");
  EXPECT_THAT(f.sink.sent_revisions(), ElementsAre(1, 2));
}

TEST(WatchStreamTest, ACatchUpLeavesRoomForPresenceAndSnapshots) {
  Fixture f(/*limit=*/8);
  const auto target = f.Add(0, 0);
  ASSERT_EQ(f.stream->OfferChange(target, 1, Change(1)), WatchStream::Offer::kQueued);  // in flight
  int64_t revision = 2;
  while (f.stream->OfferChange(target, revision, Change(revision), /*catch_up=*/true) ==
         WatchStream::Offer::kQueued) {
    ++revision;
  }
  EXPECT_EQ(revision, 8) << "a catch-up may fill three quarters of the queue (6 of 8)";
  EXPECT_EQ(f.stream->free_slots(), 0u);
  // Someone joins and a snapshot follows: neither ends the stream as too slow.
  EXPECT_TRUE(f.stream->OfferPresence(target, Presence("people/a")));
  EXPECT_TRUE(f.stream->OfferOther(target, Change(0)));
  EXPECT_FALSE(f.stream->ended());
  f.sink.CompleteAll();
  EXPECT_FALSE(f.sink.closed().has_value());
  EXPECT_THAT(f.sink.sent_revisions(), ElementsAre(1, 2, 3, 4, 5, 6, 7, 0));
}

TEST(WatchStreamTest, APresenceUpdateReplacesOneStillWaiting) {
  Fixture f;
  const auto target = f.Add(0, 0);
  f.stream->OfferOther(target, Change(0));  // something in flight, so the rest waits
  f.stream->OfferPresence(target, Presence("people/a"));
  f.stream->OfferPresence(target, Presence("people/b"));
  f.stream->OfferPresence(target, Presence("people/c"));
  f.sink.CompleteAll();
  ASSERT_EQ(f.sink.sent().size(), 2u);
  EXPECT_EQ(f.sink.sent()[1].presence().present(0).person(), "people/c");
}

TEST(WatchStreamTest, EndingWaitsForTheWriteInFlightAndDropsTheRest) {
  Fixture f;
  const auto target = f.Add(0, 0);
  f.stream->OfferChange(target, 1, Change(1));
  f.stream->OfferChange(target, 2, Change(2));
  f.stream->End(absl::NotFoundError("no longer shared"));
  EXPECT_FALSE(f.sink.closed().has_value());
  EXPECT_EQ(f.stream->OfferChange(target, 3, Change(3)), WatchStream::Offer::kClosed);
  f.sink.CompleteWrite();
  ASSERT_TRUE(f.sink.closed().has_value());
  EXPECT_EQ(f.sink.closed()->code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(f.sink.sent_revisions(), ElementsAre(1));
  // A second end changes nothing.
  f.stream->End(absl::UnavailableError("again"));
  EXPECT_EQ(f.sink.closed()->code(), absl::StatusCode::kNotFound);
}

TEST(WatchStreamTest, AFailedWriteOrACancelEndsTheStream) {
  Fixture gone;
  const auto target = gone.Add(0, 0);
  gone.stream->OfferChange(target, 1, Change(1));
  gone.stream->OfferChange(target, 2, Change(2));
  gone.sink.CompleteWrite(/*ok=*/false);  // the client went away
  ASSERT_TRUE(gone.sink.closed().has_value());
  EXPECT_EQ(gone.sink.closed()->code(), absl::StatusCode::kCancelled);

  Fixture cancelled;
  cancelled.stream->OnCancel();
  ASSERT_TRUE(cancelled.sink.closed().has_value());
  EXPECT_EQ(cancelled.sink.closed()->code(), absl::StatusCode::kCancelled);
}

TEST(WatchStreamTest, TheDrainedCallbackComesWhenHalfTheQueueIsFree) {
  Fixture f(/*limit=*/4);
  const auto target = f.Add(0, 0);
  for (int r = 1; r <= 5; ++r)
    f.stream->OfferChange(target, r, Change(r));  // 1 in flight, 4 queued
  EXPECT_EQ(f.stream->free_slots(), 0u);
  int drained = 0;
  f.stream->CallWhenDrained([&] { ++drained; });
  f.sink.CompleteWrite();  // 4 waited, 3 now
  f.sink.CompleteWrite();  // 3 waited, 2 now
  EXPECT_EQ(drained, 0);
  f.sink.CompleteWrite();  // 2 waited (half the queue): room to read more
  EXPECT_EQ(drained, 1);
  f.sink.CompleteAll();
  EXPECT_EQ(drained, 1);  // once
  // Asked while the queue is already half empty, it runs at once.
  f.stream->CallWhenDrained([&] { ++drained; });
  EXPECT_EQ(drained, 2);
}

TEST(WatchStreamTest, OnlyOneCatchUpRunsAndOneAskedMeanwhileReadsOnceMore) {
  Fixture f;
  const auto target = f.Add(0, 0);
  EXPECT_TRUE(f.stream->BeginCatchUp(target));
  EXPECT_FALSE(f.stream->BeginCatchUp(target));   // asked meanwhile
  EXPECT_FALSE(f.stream->FinishCatchUp(target));  // so the running one reads once more
  EXPECT_TRUE(f.stream->FinishCatchUp(target));
  EXPECT_TRUE(f.stream->BeginCatchUp(target));
  f.stream->AbandonCatchUp(target);
  EXPECT_TRUE(f.stream->BeginCatchUp(target));
}

TEST(WatchStreamTest, TheClosedCallbackRunsOnceWhenTheCallIsOver) {
  Fixture f;
  int closed = 0;
  f.stream->OnClosed([&] { ++closed; });
  f.stream->End(absl::OkStatus());
  EXPECT_EQ(closed, 0);
  f.sink.Done();
  EXPECT_EQ(closed, 1);
  // Registered after the end, it runs at once; nothing more is written.
  int late = 0;
  f.stream->OnClosed([&] { ++late; });
  EXPECT_EQ(late, 1);
  EXPECT_FALSE(f.stream->OfferOther(0, Change(1)));
}

}  // namespace
}  // namespace coplan
