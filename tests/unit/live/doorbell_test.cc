// The doorbell's wire format: typed messages in, ids-only payloads out, coalesced, within
// PostgreSQL's payload limit, and anything unexpected skipped on the way back.
#include "server/live/doorbell.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "server/store/notification_channel.h"

namespace coplan {
namespace {

using ::testing::ElementsAre;
using ::testing::UnorderedElementsAre;

TEST(DoorbellTest, MessagesRoundTripThroughThePayload) {
  const std::vector<DoorbellMessage> messages = {
      DoorbellMessage::Revision(42, 7), DoorbellMessage::Agreement(42),
      DoorbellMessage::Presence(9), DoorbellMessage::Access("alex-1"),
      DoorbellMessage::Session("s3ss10n-id")};
  const std::vector<std::string> payloads = EncodeDoorbellPayloads("instance-a", messages);
  ASSERT_EQ(payloads.size(), 1u);
  const DecodedDoorbellPayload decoded = DecodeDoorbellPayload(payloads[0]);
  EXPECT_EQ(decoded.instance_id, "instance-a");
  EXPECT_THAT(decoded.messages, UnorderedElementsAre(messages[0], messages[1], messages[2],
                                                     messages[3], messages[4]));
}

TEST(DoorbellTest, OnlyTheHighestRevisionOfADocumentIsSentAndDuplicatesOnce) {
  const auto payloads =
      EncodeDoorbellPayloads("i", {DoorbellMessage::Revision(1, 3), DoorbellMessage::Revision(1, 5),
                                   DoorbellMessage::Revision(1, 4), DoorbellMessage::Revision(2, 1),
                                   DoorbellMessage::Access("p"), DoorbellMessage::Access("p")});
  ASSERT_EQ(payloads.size(), 1u);
  EXPECT_THAT(DecodeDoorbellPayload(payloads[0]).messages,
              UnorderedElementsAre(DoorbellMessage::Revision(1, 5), DoorbellMessage::Revision(2, 1),
                                   DoorbellMessage::Access("p")));
}

TEST(DoorbellTest, LargeBatchesAreSplitWithinThePayloadLimit) {
  std::vector<DoorbellMessage> many;
  for (int key = 1; key <= 2000; ++key)
    many.push_back(DoorbellMessage::Revision(key, 1000000 + key));
  const auto payloads = EncodeDoorbellPayloads("instance-with-a-long-id", many);
  ASSERT_GT(payloads.size(), 1u);
  size_t messages = 0;
  for (const auto& payload : payloads) {
    EXPECT_LE(payload.size(), kMaxNotificationPayload);
    const auto decoded = DecodeDoorbellPayload(payload);
    EXPECT_EQ(decoded.instance_id, "instance-with-a-long-id");
    messages += decoded.messages.size();
  }
  EXPECT_EQ(messages, many.size());
  EXPECT_TRUE(EncodeDoorbellPayloads("i", {}).empty());
}

TEST(DoorbellTest, WhatItDoesNotUnderstandIsSkipped) {
  const auto decoded =
      DecodeDoorbellPayload("other;r:1:2;r:x:2;r:1;q:5;a:;x:;x:bad id;s:a;b:c;p:12;;r:9:10:11;a:3");
  EXPECT_EQ(decoded.instance_id, "other");
  EXPECT_THAT(decoded.messages,
              ElementsAre(DoorbellMessage::Revision(1, 2), DoorbellMessage::Session("a"),
                          DoorbellMessage::Presence(12), DoorbellMessage::Agreement(3)));
  EXPECT_TRUE(DecodeDoorbellPayload("").messages.empty());
}

}  // namespace
}  // namespace coplan
