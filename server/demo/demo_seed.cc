#include "server/demo/demo_seed.h"

#include "absl/strings/str_cat.h"
#include "coplan/v1/plan.pb.h"
#include "server/common/errors.h"
#include "server/common/log.h"
#include "server/common/proto_time.h"
#include "server/common/status_macros.h"
#include "server/service/decision_service.h"
#include "server/service/document_service.h"
#include "server/service/option_grid_service.h"
#include "server/service/people_service.h"

namespace coplan {
namespace {

Caller As(const std::string& person_id, const Clock& clock) {
  Caller caller;
  caller.person_id = person_id;
  caller.method = "coplan-server/demo-seed";
  caller.now = clock.Now();
  caller.deadline = absl::Now() + absl::Seconds(60);
  return caller;
}

google::type::Date InDays(const Clock& clock, int days) {
  return ToDate(TodayInUk(clock.Now()) + days);
}

void Add(google::protobuf::RepeatedPtrField<v1::TextItem>* list, const std::string& text) {
  list->Add()->set_text(text);
}

v1::Plan CarePlan(const Clock& clock) {
  v1::Plan plan;
  plan.set_title("My care plan");
  auto* care = plan.mutable_care_plan();
  auto* about = care->mutable_about_me();
  about->set_what_matters(
      "Finishing my A-levels, seeing my friends at weekends, and my dog Biscuit.");
  about->set_communication(
      "Text before you call. I find it easier to talk while walking than sitting face to face.");
  Add(about->mutable_strengths(), "I'm good at drawing and it calms me down");
  Add(about->mutable_strengths(), "I keep going even when things are hard");
  auto* goal = care->add_goals();
  goal->set_description("Get back to college three days a week by half term");
  Add(goal->mutable_steps(), "Go in for the morning on Mondays and Wednesdays");
  Add(goal->mutable_steps(), "Talk to my tutor about a quiet place to go if I panic");
  Add(goal->mutable_supporters(), "Mum (Jordan)");
  Add(goal->mutable_supporters(), "College wellbeing team");
  *goal->mutable_target_date() = InDays(clock, 42);
  goal->set_status(v1::GOAL_STATUS_IN_PROGRESS);
  auto* sleep = care->add_goals();
  sleep->set_description("Sleep better so I'm not wiped out every morning");
  Add(sleep->mutable_steps(), "Phone out of the bedroom after 11pm");
  sleep->set_status(v1::GOAL_STATUS_NOT_STARTED);
  auto* action = care->add_actions();
  action->set_description("Refer Alex to the college counsellor");
  action->set_responsible("Dr Okafor");
  *action->mutable_due_date() = InDays(clock, 7);
  action->set_status(v1::ACTION_STATUS_OPEN);
  auto* medication = care->add_unacceptable_medications();
  medication->set_medication("Anything that makes me put on weight");
  medication->set_notes("It made me feel worse about myself last time");
  care->mutable_key_worker()->set_display_name("Dr Sam Okafor");
  care->mutable_key_worker()->set_person("people/okafor");
  *care->mutable_review_date() = InDays(clock, 28);
  return plan;
}

v1::Plan CrisisPlan() {
  v1::Plan plan;
  plan.set_title("When things get really hard");
  auto* crisis = plan.mutable_crisis_plan();
  Add(crisis->mutable_warning_signs(), "I stop replying to my friends");
  Add(crisis->mutable_warning_signs(), "I can't sleep and stay in my room all day");
  Add(crisis->mutable_coping_strategies(), "Draw, or take Biscuit for a walk");
  Add(crisis->mutable_coping_strategies(),
      "Cold water on my face and slow breathing (4 in, 6 out)");
  Add(crisis->mutable_distractions(), "The climbing wall with Priya");
  auto* mum = crisis->add_help_contacts();
  mum->set_name("Jordan (Mum)");
  mum->set_relationship("parent");
  mum->set_phone("07700 900123");
  auto* samaritans = crisis->add_professional_contacts();
  samaritans->set_name("Samaritans");
  samaritans->set_phone("116 123");
  samaritans->set_hours("24 hours, every day");
  samaritans->set_crisis_service(true);
  auto* shout = crisis->add_professional_contacts();
  shout->set_name("Shout (text service)");
  shout->set_phone("Text SHOUT to 85258");
  shout->set_hours("24 hours, every day");
  shout->set_crisis_service(true);
  auto* nhs = crisis->add_professional_contacts();
  nhs->set_name("NHS 111, option 2 (mental health crisis)");
  nhs->set_phone("111");
  nhs->set_hours("24 hours, every day (England)");
  nhs->set_crisis_service(true);
  auto* team = crisis->add_professional_contacts();
  team->set_name("Dr Sam Okafor, CAMHS");
  team->set_phone("0300 555 0142");
  team->set_hours("Monday to Friday, 9am to 5pm");
  Add(crisis->mutable_safe_environment(), "Mum keeps the medicines locked away");
  Add(crisis->mutable_reasons_for_living(), "Biscuit");
  Add(crisis->mutable_reasons_for_living(), "Going to art school");
  auto* wish = crisis->add_wishes_if_unwell();
  wish->set_topic(v1::PREFERENCE_TOPIC_STAFF);
  wish->set_text("If possible, see someone I already know from the CAMHS team");
  auto* refusal = crisis->add_refusals_if_unwell();
  refusal->set_topic(v1::PREFERENCE_TOPIC_OTHER);
  refusal->set_text("Please don't call my school unless I say it's OK");
  Add(crisis->mutable_practical_arrangements(), "Someone to walk Biscuit");
  Add(crisis->mutable_who_may_see(), "Mum, and my CAMHS team");
  return plan;
}

// The project's own example grid. It is demonstration content, written in plain words for
// young people, citing public NICE and NHS sources; it has not been clinically reviewed.
v1::OptionGrid LowMoodGrid(const Clock& clock) {
  v1::OptionGrid grid;
  grid.set_title("First steps for low mood");
  grid.set_locale("en-GB");
  grid.set_decision_question("What could help with my low mood right now?");
  auto option = [&](const char* id, const char* title, const char* description, bool wait) {
    auto* o = grid.add_options();
    o->set_id(id);
    o->set_title(title);
    o->set_description(description);
    o->set_wait_and_see(wait);
  };
  option("talk", "Talking therapy",
         "You meet a therapist. This is often CBT, for about 6 to 12 weeks.", false);
  option("self-help", "Guided self-help",
         "You work through a book or an app, with short check-ins.", false);
  option("medicine", "Medicine with therapy",
         "You take a medicine called fluoxetine each day. You keep having talking therapy too.",
         false);
  option("wait", "Wait and see", "You keep an eye on how you feel. You meet again in 2 weeks.",
         true);
  struct Answer {
    const char* option;
    const char* text;
    std::vector<const char*> sources;
  };
  auto question = [&](const char* id, const char* text, std::vector<Answer> answers) {
    auto* q = grid.add_questions();
    q->set_id(id);
    q->set_question(text);
    for (const auto& answer : answers) {
      auto* a = q->add_answers();
      a->set_option_id(answer.option);
      a->set_text(answer.text);
      for (const char* source : answer.sources) a->add_source_ids(source);
    }
  };
  question(
      "what", "What does it involve?",
      {{"talk",
        "You meet a therapist once a week. You talk about your thoughts, feelings and what you do.",
        {"nice", "nhs-cbt"}},
       {"self-help",
        "You use a book or an app at home. Someone checks in with you every week or two.",
        {"nice"}},
       {"medicine",
        "You take a tablet once a day. You keep seeing your therapist. A doctor checks on you "
        "often.",
        {"nice", "nhs-medicine"}},
       {"wait",
        "You do not start a treatment yet. You agree when to meet again, often within 2 weeks.",
        {"nice"}}});
  question(
      "when", "How soon might it help?",
      {{"talk",
        "Many people notice a change after a few weeks. A full course takes about 3 months.",
        {"nhs-cbt"}},
       {"self-help", "Some people feel better within a few weeks if they keep going.", {"nice"}},
       {"medicine", "It can take 4 to 6 weeks to start to work.", {"nhs-medicine"}},
       {"wait", "Mild low mood often gets better by itself in a few weeks.", {"nice"}}});
  question(
      "risks", "Are there side effects or risks?",
      {{"talk",
        "Talking about hard things can feel upsetting at first. It has no medical side effects.",
        {"nhs-cbt"}},
       {"self-help",
        "It has no medical side effects. It can be hard to keep going on your own.",
        {"nice"}},
       {"medicine",
        "Some people feel sick or sleep badly at first. Rarely, young people have more thoughts of "
        "self-harm. So you are checked often.",
        {"nhs-medicine", "nice"}},
       {"wait",
        "If your mood gets worse, waiting could delay help. Tell someone if it does.",
        {"nice"}}});
  question(
      "who", "Who is it a good choice for?",
      {{"talk", "People whose low mood has lasted a while, or is more than mild.", {"nice"}},
       {"self-help", "People with mild low mood who like to work at their own pace.", {"nice"}},
       {"medicine",
        "Young people with moderate or severe depression, when therapy alone has not been enough.",
        {"nice"}},
       {"wait", "People with mild low mood who want to see if it lifts by itself.", {"nice"}}});
  auto source = [&](const char* id, const char* citation, const char* url) {
    auto* s = grid.add_sources();
    s->set_id(id);
    s->set_citation(citation);
    s->set_url(url);
  };
  source(
      "nice",
      "National Institute for Health and Care Excellence. Depression in children and young people: "
      "identification and management. NICE guideline NG134, 2019.",
      "https://www.nice.org.uk/guidance/ng134");
  source("nhs-cbt", "NHS. Cognitive behavioural therapy (CBT).",
         "https://www.nhs.uk/mental-health/talking-therapies-medicine-treatments/"
         "talking-therapies-and-counselling/cognitive-behavioural-therapy-cbt/overview/");
  source("nhs-medicine", "NHS. Antidepressants for children and young people.",
         "https://www.nhs.uk/mental-health/children-and-young-adults/advice-for-parents/"
         "antidepressants-for-children-and-teenagers/");
  auto* author = grid.add_authors();
  author->set_name("The Coplan project");
  author->set_role("example content for the demo; not clinically reviewed");
  grid.set_funding("Written by the Coplan project as example content. No external funding.");
  grid.set_conflict_of_interest(
      "None. This grid is for demonstration and has not been clinically reviewed.");
  *grid.mutable_last_review_date() = InDays(clock, -10);
  *grid.mutable_next_review_date() = InDays(clock, 355);
  return grid;
}

v1::Person Person(const std::string& display_name, int birth_year, int month, int day) {
  v1::Person person;
  person.set_display_name(display_name);
  if (birth_year > 0) {
    person.mutable_birth_date()->set_year(birth_year);
    person.mutable_birth_date()->set_month(month);
    person.mutable_birth_date()->set_day(day);
  }
  return person;
}

}  // namespace

absl::Status SeedDemo(const DemoServices& services) {
  auto existing = services.people.GetPerson(As("alex", services.clock), "people/alex");
  if (existing.ok()) {
    Log(LogLevel::kInfo, "demo_already_seeded");
    return absl::OkStatus();
  }
  // Alex is 17: old enough that proxy access would need their own consent.
  const int alex_birth_year = static_cast<int>(TodayInUk(services.clock.Now()).year()) - 17;
  v1::Person alex = Person("Alex Morgan", alex_birth_year, 3, 14);
  alex.set_nhs_number("9990000018");  // the 999 range is never issued: safe for a demo
  v1::Person okafor = Person("Dr Sam Okafor", 0, 0, 0);
  okafor.set_clinician(true);
  okafor.set_grid_author(true);
  okafor.set_team("teams/camhs-north");
  v1::Person jordan = Person("Jordan Morgan", 0, 0, 0);
  v1::Person admin = Person("Coplan administrator", 0, 0, 0);
  admin.set_administrator(true);
  struct Entry {
    const v1::Person* person;
    const char* id;
    int account;
  };
  for (const Entry& entry : {Entry{&alex, "alex", 0}, Entry{&okafor, "okafor", 1},
                             Entry{&jordan, "jordan", 2}, Entry{&admin, "admin", 3}}) {
    COPLAN_RETURN_IF_ERROR(services.people
                               .RegisterDirectly(*entry.person, entry.id,
                                                 kDemoAccounts[entry.account][0],
                                                 kDemoAccounts[entry.account][1])
                               .status());
  }
  v1::CreateCareTeamMemberRequest member;
  member.set_parent("people/alex");
  member.mutable_care_team_member()->set_clinician("people/okafor");
  member.mutable_care_team_member()->set_role("care coordinator");
  COPLAN_RETURN_IF_ERROR(
      services.people.CreateCareTeamMember(As("admin", services.clock), member).status());

  COPLAN_RETURN_IF_ERROR(services.documents
                             .Create(As("alex", services.clock), Collection::kPlans, "people/alex",
                                     std::make_unique<v1::Plan>(CarePlan(services.clock)),
                                     "care-plan", "plan")
                             .status());
  COPLAN_RETURN_IF_ERROR(services.documents
                             .Create(As("alex", services.clock), Collection::kPlans, "people/alex",
                                     std::make_unique<v1::Plan>(CrisisPlan()), "crisis-plan",
                                     "plan")
                             .status());
  // Alex invites Jordan (they had no relationship yet), and Jordan accepts.
  v1::CreateGrantRequest grant;
  grant.set_parent("people/alex");
  grant.mutable_grant()->add_documents("people/alex/plans/crisis-plan");
  grant.mutable_grant()->set_access(v1::ACCESS_LEVEL_READ);
  COPLAN_ASSIGN_OR_RETURN(v1::Grant invitation,
                          services.people.CreateGrant(As("alex", services.clock), grant));
  v1::AcceptGrantInvitationRequest accept;
  accept.set_invitation_code(invitation.invitation_code());
  COPLAN_RETURN_IF_ERROR(
      services.people.AcceptGrantInvitation(As("jordan", services.clock), accept).status());

  v1::CreateOptionGridRequest create_grid;
  create_grid.set_option_grid_id("low-mood-first-steps");
  *create_grid.mutable_option_grid() = LowMoodGrid(services.clock);
  COPLAN_RETURN_IF_ERROR(services.grids.Create(As("okafor", services.clock), create_grid).status());
  v1::PublishOptionGridRequest publish;
  publish.set_name("optionGrids/low-mood-first-steps");
  COPLAN_RETURN_IF_ERROR(services.grids.Publish(As("okafor", services.clock), publish).status());

  v1::CreateDecisionRecordRequest decision;
  decision.set_parent("people/alex");
  decision.set_decision_record_id("low-mood");
  auto* record = decision.mutable_decision_record();
  record->set_option_grid_version("optionGrids/low-mood-first-steps/versions/latest");
  record->set_stage(v1::DECISION_STAGE_CONSIDERING);
  auto* side_effects = record->add_importances();
  side_effects->set_question_id("risks");
  side_effects->set_importance(5);
  side_effects->set_note("I don't want anything that makes me feel worse");
  auto* speed = record->add_importances();
  speed->set_question_id("when");
  speed->set_importance(4);
  record->set_leaning_option_id("talk");
  record->mutable_who_decides()->set_mode(v1::DECISION_MAKER_MODE_TOGETHER);
  record->mutable_who_decides()->add_people()->set_text("Dr Okafor");
  record->mutable_who_decides()->add_people()->set_text("Mum");
  auto* sure = record->mutable_sure();
  sure->set_sure_of_best_choice(v1::SURE_ANSWER_NO);
  sure->set_understands_benefits_and_risks(v1::SURE_ANSWER_YES);
  sure->set_clear_about_what_matters(v1::SURE_ANSWER_YES);
  sure->set_enough_support(v1::SURE_ANSWER_NO);
  *record->mutable_follow_up_date() = InDays(services.clock, 14);
  COPLAN_RETURN_IF_ERROR(services.decisions.Create(As("alex", services.clock), decision).status());
  Log(LogLevel::kInfo, "demo_seeded");
  return absl::OkStatus();
}

}  // namespace coplan
