#include "server/print/crisis_plan_pdf.h"

#include <cairo-pdf.h>
#include <cairo.h>
#include <glib.h>
#include <pango/pangocairo.h>

#include <algorithm>
#include <memory>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/substitute.h"
#include "absl/time/civil_time.h"
#include "server/common/errors.h"
#include "server/common/proto_time.h"
#include "server/print/print_labels.h"

namespace coplan {
namespace {

// ---- Owning handles for the C libraries.

struct GObjectUnref {
  void operator()(gpointer object) const { g_object_unref(object); }
};
template <typename T>
using GObjectPtr = std::unique_ptr<T, GObjectUnref>;

struct GFree {
  void operator()(gpointer memory) const { g_free(memory); }
};
using GCharPtr = std::unique_ptr<gchar, GFree>;

struct GErrorFree {
  void operator()(GError* error) const { g_error_free(error); }
};
using GErrorPtr = std::unique_ptr<GError, GErrorFree>;

struct PangoAttrListUnref {
  void operator()(PangoAttrList* list) const { pango_attr_list_unref(list); }
};
using PangoAttrListPtr = std::unique_ptr<PangoAttrList, PangoAttrListUnref>;

struct PangoFontDescriptionFree {
  void operator()(PangoFontDescription* description) const {
    pango_font_description_free(description);
  }
};
using PangoFontDescriptionPtr = std::unique_ptr<PangoFontDescription, PangoFontDescriptionFree>;

struct PangoLayoutIterFree {
  void operator()(PangoLayoutIter* iter) const { pango_layout_iter_free(iter); }
};
using PangoLayoutIterPtr = std::unique_ptr<PangoLayoutIter, PangoLayoutIterFree>;

struct CairoFontOptionsDestroy {
  void operator()(cairo_font_options_t* options) const { cairo_font_options_destroy(options); }
};
using CairoFontOptionsPtr = std::unique_ptr<cairo_font_options_t, CairoFontOptionsDestroy>;

struct CairoSurfaceDestroy {
  void operator()(cairo_surface_t* surface) const { cairo_surface_destroy(surface); }
};
using CairoSurfacePtr = std::unique_ptr<cairo_surface_t, CairoSurfaceDestroy>;

struct CairoDestroy {
  void operator()(cairo_t* cr) const { cairo_destroy(cr); }
};
using CairoPtr = std::unique_ptr<cairo_t, CairoDestroy>;

// ---- The page, in PDF points (1/72 inch).

constexpr double kPageWidth = 595.276;  // A4: 210 mm
constexpr double kPageHeight = 841.89;  // 297 mm
constexpr double kMargin = 51.0;        // 18 mm
constexpr double kContentWidth = kPageWidth - 2 * kMargin;
constexpr double kFooterHeight = 36.0;  // kept free above the bottom margin for the footer
constexpr double kContentTop = kMargin;
constexpr double kContentBottom = kPageHeight - kMargin - kFooterHeight;
constexpr double kBoxPadding = 10.0;
constexpr double kBoxBorder = 2.5;
constexpr double kBulletIndent = 16.0;  // on both sides, so right-to-left items have room too
constexpr double kLineSpacing = 1.15;

// fontconfig falls back beyond these for any character they lack, emoji included. Naming
// "Noto Color Emoji" here would be wrong: Pango then takes digits and spaces from it (they
// have emoji forms), and they print as bitmaps that cannot be searched or copied.
constexpr char kFontFamilies[] = "Noto Sans, Noto Sans Arabic, Noto Sans Hebrew, DejaVu Sans";

struct Rgb {
  double red, green, blue;
};
constexpr Rgb kBlack{0, 0, 0};
constexpr Rgb kNhsDarkBlue{0, 0.188, 0.529};  // #003087: strong contrast, prints dark grey
constexpr Rgb kDarkGrey{0.25, 0.25, 0.25};
constexpr Rgb kBoxFill{1.0, 0.957, 0.839};  // pale yellow, light grey in black and white
constexpr Rgb kBoxEdge{0.6, 0.0, 0.0};

struct Style {
  double size;  // points
  bool bold;
  Rgb color;
  double space_before;
};
// Body text is 13 pt (at least 12 for young people and older readers alike).
constexpr Style kTitle{24, true, kBlack, 0};
constexpr Style kSubtitle{15, false, kBlack, 4};
constexpr Style kMeta{12, false, kDarkGrey, 4};
constexpr Style kBoxHeading{16, true, kBoxEdge, 0};
constexpr Style kBoxService{14, false, kBlack, 6};
constexpr Style kBoxEmergency{13, true, kBlack, 8};
constexpr Style kHeading{16, true, kNhsDarkBlue, 16};
constexpr Style kBody{13, false, kBlack, 5};
constexpr Style kFooter{10, false, kDarkGrey, 0};

// Where a line of a layout sits, relative to the layout's top-left corner.
struct LineSlot {
  double top;       // the line's share of the layout's height starts here
  double height;    // including its share of the line spacing
  double baseline;  // from the layout's top
  double x;         // the line's left edge (moved right by centring or right-to-left text)
};

struct Block {
  GObjectPtr<PangoLayout> layout;
  Style style;
  double indent = 0;  // from the left margin
  bool bulleted = false;
  bool in_crisis_box = false;
  bool keep_with_next = false;  // a heading stays with the first line after it
  std::string outline_title;    // a PDF bookmark to this block, when set
  std::vector<LineSlot> lines;
};

struct PlacedLine {
  const Block* block;
  int line;
  double top;  // on the page
};

using Page = std::vector<PlacedLine>;

// ---- Text.

// The person's words, safe inside Pango markup. Invalid UTF-8 (which a proto set in code
// may hold) becomes U+FFFD instead of failing the whole plan.
std::string Escape(absl::string_view text) {
  GCharPtr valid(g_utf8_make_valid(text.data(), static_cast<gssize>(text.size())));
  GCharPtr escaped(g_markup_escape_text(valid.get(), -1));
  return escaped.get();
}

std::string Bold(absl::string_view markup) { return absl::StrCat("<b>", markup, "</b>"); }

// A field template such as "Phone: $0" with its fixed words in bold and the value plain.
std::string FieldMarkup(absl::string_view field_template, absl::string_view value) {
  size_t slot = field_template.find("$0");
  if (slot == absl::string_view::npos) return Bold(Escape(field_template));
  absl::string_view before = field_template.substr(0, slot);
  absl::string_view after = field_template.substr(slot + 2);
  return absl::StrCat(before.empty() ? "" : Bold(Escape(before)), Escape(value),
                      after.empty() ? "" : Bold(Escape(after)));
}

bool StartsWithVowel(absl::string_view text) {
  if (text.empty()) return false;
  gunichar first = g_utf8_get_char_validated(text.data(), static_cast<gssize>(text.size()));
  if (first == static_cast<gunichar>(-1) || first == static_cast<gunichar>(-2)) return false;
  gunichar base[G_UNICHAR_MAX_DECOMPOSITION_LENGTH];
  if (g_unichar_fully_decompose(first, FALSE, base, G_N_ELEMENTS(base)) == 0) return false;
  gunichar letter = g_unichar_tolower(base[0]);
  return letter < 128 && std::string("aeiou").find(static_cast<char>(letter)) != std::string::npos;
}

// "Alex", "Alex and Sam", "Alex, Sam and Dr Okafor".
std::string JoinNames(const std::vector<std::string>& names, const PrintLabels& labels) {
  if (names.size() < 2) return names.empty() ? "" : names.front();
  std::vector<std::string> leading(names.begin(), names.end() - 1);
  const std::string& last = names.back();
  return absl::StrCat(absl::StrJoin(leading, ", "),
                      StartsWithVowel(last) ? labels.list_and_before_vowel : labels.list_and, last);
}

std::string FormatDay(absl::CivilDay day, const PrintLabels& labels) {
  return absl::Substitute(labels.date, day.day(), labels.months[day.month() - 1], day.year());
}

std::string FormatDay(absl::Time time, absl::TimeZone zone, const PrintLabels& labels) {
  return FormatDay(absl::ToCivilDay(time, zone), labels);
}

bool IsSet(const google::protobuf::Timestamp& timestamp) {
  return timestamp.seconds() != 0 || timestamp.nanos() != 0;
}

// ---- Laying out.

// Lays out blocks of markup for the content width; collects the first error and the
// glyphs no font has.
class BlockMaker {
 public:
  explicit BlockMaker(PangoContext* context) : context_(context) {}

  Block Make(const std::string& markup, const Style& style, double indent, double width,
             bool follow_text_direction) {
    Block block;
    block.style = style;
    block.indent = indent;
    block.layout.reset(pango_layout_new(context_));
    PangoLayout* layout = block.layout.get();
    PangoFontDescriptionPtr font(pango_font_description_new());
    pango_font_description_set_family(font.get(), kFontFamilies);
    pango_font_description_set_size(font.get(), static_cast<gint>(style.size * PANGO_SCALE));
    pango_font_description_set_weight(font.get(),
                                      style.bold ? PANGO_WEIGHT_BOLD : PANGO_WEIGHT_NORMAL);
    pango_layout_set_font_description(layout, font.get());
    pango_layout_set_width(layout, static_cast<int>(width * PANGO_SCALE));
    // A long web address or phone number breaks between characters rather than running
    // off the page.
    pango_layout_set_wrap(layout, PANGO_WRAP_WORD_CHAR);
    pango_layout_set_line_spacing(layout, kLineSpacing);
    // The person's words take the direction of their first strong letter (Arabic and
    // Hebrew read from the right); the labels keep the locale's direction.
    pango_layout_set_auto_dir(layout, follow_text_direction);
    SetMarkup(layout, markup);
    block.lines = LineSlots(layout);
    missing_glyphs_ += pango_layout_get_unknown_glyphs_count(layout);
    return block;
  }

  // Person's text: its own direction. Labels: left to right.
  Block Text(const std::string& markup, const Style& style) {
    return Make(markup, style, 0, kContentWidth, true);
  }
  Block Label(const std::string& markup, const Style& style) {
    return Make(markup, style, 0, kContentWidth, false);
  }

  int missing_glyphs() const { return missing_glyphs_; }
  const absl::Status& status() const { return status_; }

 private:
  void SetMarkup(PangoLayout* layout, const std::string& markup) {
    PangoAttrList* attributes = nullptr;
    gchar* text = nullptr;
    GError* error = nullptr;
    if (!pango_parse_markup(markup.data(), static_cast<int>(markup.size()), 0, &attributes, &text,
                            nullptr, &error)) {
      GErrorPtr owned_error(error);
      if (status_.ok()) {
        status_ = absl::InternalError(
            absl::StrCat("laying out the crisis plan: bad markup: ", owned_error->message));
      }
      return;
    }
    PangoAttrListPtr owned_attributes(attributes);
    GCharPtr owned_text(text);
    // Hyphens would change the person's words (and phone numbers).
    pango_attr_list_insert(attributes, pango_attr_insert_hyphens_new(FALSE));
    pango_layout_set_text(layout, text, -1);
    pango_layout_set_attributes(layout, attributes);
  }

  static std::vector<LineSlot> LineSlots(PangoLayout* layout) {
    std::vector<LineSlot> slots;
    PangoLayoutIterPtr iter(pango_layout_get_iter(layout));
    do {
      int top = 0;
      int bottom = 0;
      PangoRectangle logical;
      pango_layout_iter_get_line_yrange(iter.get(), &top, &bottom);
      pango_layout_iter_get_line_extents(iter.get(), nullptr, &logical);
      slots.push_back({pango_units_to_double(top), pango_units_to_double(bottom - top),
                       pango_units_to_double(pango_layout_iter_get_baseline(iter.get())),
                       pango_units_to_double(logical.x)});
    } while (pango_layout_iter_next_line(iter.get()));
    return slots;
  }

  PangoContext* context_;
  int missing_glyphs_ = 0;
  absl::Status status_;
};

// Builds the blocks of the plan, top to bottom.
class PlanWriter {
 public:
  PlanWriter(PangoContext* context, const PrintLabels& labels, const PrintContext& print)
      : maker_(context), labels_(labels), print_(print) {}

  std::vector<Block> Write(const v1::Plan& plan) {
    const v1::CrisisPlan& crisis = plan.crisis_plan();
    Header(plan);
    CrisisBox(crisis);
    Items(labels_.warning_signs, crisis.warning_signs());
    Items(labels_.coping_strategies, crisis.coping_strategies());
    Items(labels_.distractions, crisis.distractions());
    HelpContacts(crisis);
    ProfessionalContacts(crisis);
    Items(labels_.safe_environment, crisis.safe_environment());
    Items(labels_.reasons_for_living, crisis.reasons_for_living());
    Preferences(labels_.wishes_if_unwell, crisis.wishes_if_unwell());
    Preferences(labels_.refusals_if_unwell, crisis.refusals_if_unwell());
    Items(labels_.practical_arrangements, crisis.practical_arrangements());
    Items(labels_.who_may_see, crisis.who_may_see());
    AdvanceDecision(crisis);
    return std::move(blocks_);
  }

  BlockMaker& maker() { return maker_; }

 private:
  void Header(const v1::Plan& plan) {
    Add(maker_.Text(Escape(plan.title().empty() ? labels_.untitled_plan : plan.title()), kTitle));
    Add(maker_.Label(Escape(absl::Substitute(labels_.plan_for, print_.person_display_name)),
                     kSubtitle));
    Add(maker_.Label(Escape(RevisionLine(plan)), kMeta));
  }

  // "Revision 3, updated 14 March 2026; agreed with Alex and Dr Okafor on 12 March 2026".
  std::string RevisionLine(const v1::Plan& plan) {
    std::string line = absl::Substitute(labels_.revision, plan.revision());
    const google::protobuf::Timestamp& updated =
        IsSet(plan.update_time()) ? plan.update_time() : plan.create_time();
    if (IsSet(updated)) {
      absl::StrAppend(&line, ", ",
                      absl::Substitute(labels_.updated_on, FormatDay(FromTimestamp(updated),
                                                                     print_.time_zone, labels_)));
    }
    absl::StrAppend(&line, "; ", AgreementClause(plan));
    return line;
  }

  std::string AgreementClause(const v1::Plan& plan) {
    bool agreed = !print_.agreed_with.empty() &&
                  (print_.agreed_revision == 0 || print_.agreed_revision == plan.revision());
    if (!agreed) return labels_.not_yet_agreed;
    std::vector<std::string> names;
    absl::Time agreed_time = absl::InfinitePast();
    for (const PrintedAgreement& signer : print_.agreed_with) {
      names.push_back(signer.display_name);
      agreed_time = std::max(agreed_time, signer.sign_time);  // agreed when the last signed
    }
    std::string joined = JoinNames(names, labels_);
    return absl::Substitute(
        StartsWithVowel(joined) ? labels_.agreed_with_before_vowel : labels_.agreed_with, joined,
        FormatDay(agreed_time, print_.time_zone, labels_));
  }

  void CrisisBox(const v1::CrisisPlan& crisis) {
    constexpr double kInnerWidth = kContentWidth - 2 * kBoxPadding;
    std::vector<const v1::ServiceContact*> lines;
    for (const v1::ServiceContact& service : crisis.professional_contacts()) {
      if (service.crisis_service()) lines.push_back(&service);
    }
    if (!lines.empty()) {
      Block heading =
          maker_.Make(Escape(labels_.crisis_lines), kBoxHeading, kBoxPadding, kInnerWidth, false);
      heading.outline_title = labels_.crisis_lines;
      AddToBox(std::move(heading));
    }
    for (const v1::ServiceContact* service : lines) {
      std::string markup = Bold(Escape(service->name()));
      if (!service->phone().empty()) {
        absl::StrAppend(&markup, Bold(" – "), "<span size='larger'>",
                        Bold(Escape(service->phone())), "</span>");
      }
      AppendField(markup, labels_.hours, service->hours());
      AppendField(markup, labels_.website, service->website());
      AppendText(markup, service->notes());
      AddToBox(maker_.Make(markup, kBoxService, kBoxPadding, kInnerWidth, true));
    }
    AddToBox(
        maker_.Make(Escape(labels_.emergency), kBoxEmergency, kBoxPadding, kInnerWidth, false));
  }

  void Items(const char* heading, const google::protobuf::RepeatedPtrField<v1::TextItem>& items) {
    std::vector<std::string> paragraphs;
    for (const v1::TextItem& item : items) {
      if (!item.text().empty()) paragraphs.push_back(Escape(item.text()));
    }
    Section(heading, paragraphs);
  }

  void HelpContacts(const v1::CrisisPlan& crisis) {
    std::vector<std::string> paragraphs;
    for (const v1::Contact& contact : crisis.help_contacts()) {
      std::string markup = Bold(Escape(contact.name()));
      if (!contact.relationship().empty()) {
        absl::StrAppend(&markup, " – ", Escape(contact.relationship()));
      }
      AppendField(markup, labels_.phone, contact.phone());
      AppendField(markup, labels_.email, contact.email());
      AppendText(markup, contact.notes());
      paragraphs.push_back(std::move(markup));
    }
    Section(labels_.help_contacts, paragraphs);
  }

  // The crisis lines are already in the box at the top.
  void ProfessionalContacts(const v1::CrisisPlan& crisis) {
    std::vector<std::string> paragraphs;
    for (const v1::ServiceContact& service : crisis.professional_contacts()) {
      if (service.crisis_service()) continue;
      std::string markup = Bold(Escape(service.name()));
      AppendField(markup, labels_.phone, service.phone());
      AppendField(markup, labels_.hours, service.hours());
      AppendField(markup, labels_.website, service.website());
      AppendText(markup, service.notes());
      paragraphs.push_back(std::move(markup));
    }
    Section(labels_.professional_contacts, paragraphs);
  }

  void Preferences(const char* heading,
                   const google::protobuf::RepeatedPtrField<v1::CrisisPreference>& preferences) {
    std::vector<std::string> paragraphs;
    for (const v1::CrisisPreference& preference : preferences) {
      if (preference.text().empty()) continue;
      const char* topic = TopicTemplate(preference.topic());
      paragraphs.push_back(topic ? FieldMarkup(topic, preference.text())
                                 : Escape(preference.text()));
    }
    Section(heading, paragraphs);
  }

  const char* TopicTemplate(v1::PreferenceTopic topic) const {
    switch (topic) {
      case v1::PREFERENCE_TOPIC_TREATMENT:
        return labels_.topic_treatment;
      case v1::PREFERENCE_TOPIC_PLACE:
        return labels_.topic_place;
      case v1::PREFERENCE_TOPIC_STAFF:
        return labels_.topic_staff;
      default:
        return nullptr;
    }
  }

  void AdvanceDecision(const v1::CrisisPlan& crisis) {
    if (!crisis.has_advance_decision() || crisis.advance_decision().ByteSizeLong() == 0) return;
    const v1::AdvanceDecision& decision = crisis.advance_decision();
    AddHeading(labels_.advance_decision);
    if (!decision.treatment_refused().empty()) {
      Add(maker_.Text(FieldMarkup(labels_.treatment_refused, decision.treatment_refused()), kBody));
    }
    if (!decision.circumstances().empty()) {
      Add(maker_.Text(FieldMarkup(labels_.circumstances, decision.circumstances()), kBody));
    }
    Style statement = kBody;
    statement.bold = true;
    Add(maker_.Label(
        Escape(decision.applies_even_if_life_at_risk() ? labels_.applies_even_if_life_at_risk
                                                       : labels_.does_not_apply_if_life_at_risk),
        statement));
    AddSignature(labels_.signed_by, decision.signed_by(), decision.signed_on());
    AddSignature(labels_.witnessed_by, decision.witnessed_by(), decision.witnessed_on());
  }

  void AddSignature(const char* field_template, const std::string& name,
                    const google::type::Date& date) {
    if (name.empty() && !coplan::IsSet(date)) return;
    std::string value = name;
    if (coplan::IsSet(date)) {
      absl::StrAppend(&value, name.empty() ? "" : ", ", FormatDay(ToCivilDay(date), labels_));
    }
    Add(maker_.Text(FieldMarkup(field_template, value), kBody));
  }

  void Section(const char* heading, const std::vector<std::string>& paragraphs) {
    if (paragraphs.empty()) return;
    AddHeading(heading);
    for (const std::string& markup : paragraphs) {
      Block item =
          maker_.Make(markup, kBody, kBulletIndent, kContentWidth - 2 * kBulletIndent, true);
      item.bulleted = true;
      Add(std::move(item));
    }
  }

  void AddHeading(const char* heading) {
    Block block = maker_.Label(Escape(heading), kHeading);
    block.keep_with_next = true;
    block.outline_title = heading;
    Add(std::move(block));
  }

  void AppendField(std::string& markup, const char* field_template, const std::string& value) {
    if (!value.empty()) absl::StrAppend(&markup, "\n", FieldMarkup(field_template, value));
  }

  static void AppendText(std::string& markup, const std::string& text) {
    if (!text.empty()) absl::StrAppend(&markup, "\n", Escape(text));
  }

  void Add(Block block) { blocks_.push_back(std::move(block)); }
  void AddToBox(Block block) {
    block.in_crisis_box = true;
    Add(std::move(block));
  }

  BlockMaker maker_;
  const PrintLabels& labels_;
  const PrintContext& print_;
  std::vector<Block> blocks_;
};

// ---- Pages.

double HeightOfLines(const Block& block, size_t count) {
  double height = 0;
  for (size_t i = 0; i < count && i < block.lines.size(); ++i) height += block.lines[i].height;
  return height;
}

// Puts every line of every block on a page, in order; a block that does not fit continues
// on the next page from the line that did not fit.
class Paginator {
 public:
  std::vector<Page> Paginate(const std::vector<Block>& blocks) {
    pages_.assign(1, Page());
    y_ = kContentTop;
    for (size_t i = 0; i < blocks.size(); ++i) {
      const Block& block = blocks[i];
      const Block* next = i + 1 < blocks.size() ? &blocks[i + 1] : nullptr;
      bool opens_box = block.in_crisis_box && (i == 0 || !blocks[i - 1].in_crisis_box);
      bool closes_box = block.in_crisis_box && (next == nullptr || !next->in_crisis_box);
      double bottom = kContentBottom - (block.in_crisis_box ? kBoxPadding : 0);
      double space =
          (pages_.back().empty() ? 0 : block.style.space_before) + (opens_box ? kBoxPadding : 0);
      // A heading moves to the next page rather than end a page on its own.
      double needed = block.keep_with_next && next != nullptr
                          ? HeightOfLines(block, block.lines.size()) + next->style.space_before +
                                HeightOfLines(*next, 1)
                          : HeightOfLines(block, 1);
      if (y_ + space + needed > bottom && !pages_.back().empty()) {
        NewPage(block);
      } else {
        y_ += space;
      }
      for (size_t line = 0; line < block.lines.size(); ++line) {
        if (y_ + block.lines[line].height > bottom && !pages_.back().empty()) NewPage(block);
        pages_.back().push_back({&block, static_cast<int>(line), y_});
        y_ += block.lines[line].height;
      }
      if (closes_box) y_ += kBoxPadding;
    }
    return std::move(pages_);
  }

 private:
  void NewPage(const Block& continuing) {
    pages_.emplace_back();
    y_ = kContentTop + (continuing.in_crisis_box ? kBoxPadding : 0);
  }

  std::vector<Page> pages_;
  double y_ = kContentTop;
};

// ---- Drawing.

void SetColor(cairo_t* cr, const Rgb& color) {
  cairo_set_source_rgb(cr, color.red, color.green, color.blue);
}

// One frame around each run of crisis-box lines on the page (the box may continue on the
// next page, framed again there).
void DrawCrisisBoxes(cairo_t* cr, const Page& page) {
  for (size_t i = 0; i < page.size();) {
    if (!page[i].block->in_crisis_box) {
      ++i;
      continue;
    }
    double top = page[i].top;
    double bottom = top;
    for (; i < page.size() && page[i].block->in_crisis_box; ++i) {
      bottom = page[i].top + page[i].block->lines[page[i].line].height;
    }
    cairo_rectangle(cr, kMargin, top - kBoxPadding, kContentWidth, bottom - top + 2 * kBoxPadding);
    SetColor(cr, kBoxFill);
    cairo_fill_preserve(cr);
    SetColor(cr, kBoxEdge);
    cairo_set_line_width(cr, kBoxBorder);
    cairo_stroke(cr);
  }
}

// A round bullet on the side the item's text starts from.
void DrawBullet(cairo_t* cr, const Block& block, double baseline_y) {
  PangoLayoutLine* first = pango_layout_get_line_readonly(block.layout.get(), 0);
  bool right_to_left = first != nullptr && first->resolved_dir == PANGO_DIRECTION_RTL;
  double x =
      right_to_left ? kMargin + kContentWidth - kBulletIndent / 2 : kMargin + kBulletIndent / 2;
  double y = baseline_y - block.style.size * 0.33;
  cairo_new_path(cr);
  cairo_arc(cr, x, y, block.style.size * 0.16, 0, 2 * G_PI);
  SetColor(cr, block.style.color);
  cairo_fill(cr);
}

void DrawLine(cairo_t* cr, const PlacedLine& placed) {
  const Block& block = *placed.block;
  const LineSlot& slot = block.lines[placed.line];
  double baseline_y = placed.top + slot.baseline - slot.top;
  if (block.bulleted && placed.line == 0) DrawBullet(cr, block, baseline_y);
  SetColor(cr, block.style.color);
  cairo_move_to(cr, kMargin + block.indent + slot.x, baseline_y);
  pango_cairo_show_layout_line(cr, pango_layout_get_line_readonly(block.layout.get(), placed.line));
}

void AddBookmark(cairo_surface_t* surface, const PlacedLine& placed, int page_number) {
  std::string link = absl::StrFormat("page=%d pos=[%.1f %.1f]", page_number, kMargin,
                                     std::max(0.0, placed.top - placed.block->style.size));
  cairo_pdf_surface_add_outline(surface, CAIRO_PDF_OUTLINE_ROOT,
                                placed.block->outline_title.c_str(), link.c_str(),
                                static_cast<cairo_pdf_outline_flags_t>(0));
}

// "printed 14 March 2026, revision 3 · Alex" on the left, "page 1 of 2" on the right: the
// person's name tells loose pages apart.
class Footer {
 public:
  Footer(BlockMaker& maker, const PrintLabels& labels, const PrintContext& print, int64_t revision,
         int pages)
      : maker_(maker), labels_(labels), pages_(pages) {
    std::string printed = absl::Substitute(
        labels.printed, FormatDay(print.printed_time, print.time_zone, labels), revision);
    left_text_ = print.person_display_name.empty()
                     ? printed
                     : absl::StrCat(printed, " · ", print.person_display_name);
  }

  void Draw(cairo_t* cr, int page_number) {
    constexpr double kPageNumberWidth = 120;
    constexpr double kGap = 12;
    Block left =
        maker_.Make(Escape(left_text_), kFooter, 0, kContentWidth - kPageNumberWidth - kGap, false);
    // The name is printed in full at the top; down here two lines are enough.
    pango_layout_set_height(left.layout.get(), -2);
    pango_layout_set_ellipsize(left.layout.get(), PANGO_ELLIPSIZE_END);
    Block right = maker_.Make(Escape(absl::Substitute(labels_.page_of, page_number, pages_)),
                              kFooter, 0, kPageNumberWidth, false);
    pango_layout_set_alignment(right.layout.get(), PANGO_ALIGN_RIGHT);

    double rule_y = kContentBottom + 6;
    cairo_move_to(cr, kMargin, rule_y);
    cairo_line_to(cr, kMargin + kContentWidth, rule_y);
    SetColor(cr, kDarkGrey);
    cairo_set_line_width(cr, 0.5);
    cairo_stroke(cr);
    DrawBlockAt(cr, left, kMargin, rule_y + 4);
    DrawBlockAt(cr, right, kMargin + kContentWidth - kPageNumberWidth, rule_y + 4);
  }

 private:
  static void DrawBlockAt(cairo_t* cr, const Block& block, double x, double top) {
    SetColor(cr, block.style.color);
    cairo_move_to(cr, x, top);
    pango_cairo_show_layout(cr, block.layout.get());
  }

  BlockMaker& maker_;
  const PrintLabels& labels_;
  int pages_;
  std::string left_text_;
};

cairo_status_t AppendToString(void* closure, const unsigned char* data, unsigned int length) {
  static_cast<std::string*>(closure)->append(reinterpret_cast<const char*>(data), length);
  return CAIRO_STATUS_SUCCESS;
}

// A context of its own font map: Pango's font maps are not safe to share between threads.
GObjectPtr<PangoContext> NewPangoContext(GObjectPtr<PangoFontMap>& font_map) {
  font_map.reset(pango_cairo_font_map_new());
  // Font sizes in points: the PDF's unit is the point, so 72 units to the inch.
  pango_cairo_font_map_set_resolution(PANGO_CAIRO_FONT_MAP(font_map.get()), 72.0);
  GObjectPtr<PangoContext> context(pango_font_map_create_context(font_map.get()));
  // Unhinted outlines and metrics: the PDF is scaled by whatever prints or shows it.
  CairoFontOptionsPtr options(cairo_font_options_create());
  cairo_font_options_set_hint_style(options.get(), CAIRO_HINT_STYLE_NONE);
  cairo_font_options_set_hint_metrics(options.get(), CAIRO_HINT_METRICS_OFF);
  pango_cairo_context_set_font_options(context.get(), options.get());
  pango_context_set_base_dir(context.get(), PANGO_DIRECTION_LTR);
  return context;
}

absl::Status CheckRequest(const v1::Plan& plan, const PrintContext& context) {
  if (FindPrintLabels(context.locale) == nullptr) {
    return InvalidFieldError(
        "locale", absl::StrCat("\"", context.locale, "\" is not supported; supported locales: ",
                               absl::StrJoin(SupportedPrintLocales(), ", ")));
  }
  if (!plan.has_crisis_plan()) {
    return InvalidFieldError("name", absl::StrCat(plan.name().empty() ? "the plan" : plan.name(),
                                                  " is not a crisis plan"));
  }
  return absl::OkStatus();
}

}  // namespace

std::vector<std::string> SupportedPrintLocales() { return PrintLabelLocales(); }

absl::StatusOr<PrintedPlan> PrintCrisisPlan(const v1::Plan& plan, const PrintContext& context) {
  if (absl::Status status = CheckRequest(plan, context); !status.ok()) return status;
  const PrintLabels& labels = *FindPrintLabels(context.locale);

  GObjectPtr<PangoFontMap> font_map;
  GObjectPtr<PangoContext> pango = NewPangoContext(font_map);
  PlanWriter writer(pango.get(), labels, context);
  const std::vector<Block> blocks = writer.Write(plan);
  const std::vector<Page> pages = Paginator().Paginate(blocks);

  PrintedPlan printed;
  printed.pages = static_cast<int>(pages.size());
  CairoSurfacePtr surface(
      cairo_pdf_surface_create_for_stream(AppendToString, &printed.pdf, kPageWidth, kPageHeight));
  std::string title = plan.title().empty() ? labels.untitled_plan : plan.title();
  cairo_pdf_surface_set_metadata(surface.get(), CAIRO_PDF_METADATA_TITLE, title.c_str());
  cairo_pdf_surface_set_metadata(surface.get(), CAIRO_PDF_METADATA_CREATOR, "Coplan");
  std::string created =
      absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", context.printed_time, absl::UTCTimeZone());
  cairo_pdf_surface_set_metadata(surface.get(), CAIRO_PDF_METADATA_CREATE_DATE, created.c_str());
  {
    CairoPtr cr(cairo_create(surface.get()));
    Footer footer(writer.maker(), labels, context, plan.revision(), printed.pages);
    for (size_t page = 0; page < pages.size(); ++page) {
      int page_number = static_cast<int>(page) + 1;
      DrawCrisisBoxes(cr.get(), pages[page]);
      for (const PlacedLine& placed : pages[page]) {
        if (placed.line == 0 && !placed.block->outline_title.empty()) {
          AddBookmark(surface.get(), placed, page_number);
        }
        DrawLine(cr.get(), placed);
      }
      footer.Draw(cr.get(), page_number);
      cairo_show_page(cr.get());
    }
    if (cairo_status(cr.get()) != CAIRO_STATUS_SUCCESS) {
      return absl::InternalError(absl::StrCat("drawing the crisis plan: ",
                                              cairo_status_to_string(cairo_status(cr.get()))));
    }
  }
  cairo_surface_finish(surface.get());
  if (cairo_surface_status(surface.get()) != CAIRO_STATUS_SUCCESS) {
    return absl::InternalError(
        absl::StrCat("writing the crisis plan PDF: ",
                     cairo_status_to_string(cairo_surface_status(surface.get()))));
  }
  if (!writer.maker().status().ok()) return writer.maker().status();
  printed.missing_glyphs = writer.maker().missing_glyphs();
  return printed;
}

}  // namespace coplan
