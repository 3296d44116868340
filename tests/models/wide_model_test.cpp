// A model with more fields than save()'s parameters keep on the stack (16): insert, update,
// update_fields and reading back go through the heap path and lose nothing.
#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "test_support.hpp"

namespace wide {
/// Twenty fields of several types.
struct Wide : tocsin::Model<Wide> {
    static constexpr std::string_view label = "wide.Wide";
    std::string s0, s1, s2, s3, s4, s5, s6, s7, s8, s9;
    int i0 = 0, i1 = 0, i2 = 0, i3 = 0, i4 = 0, i5 = 0, i6 = 0;
    double d = 0;
    bool b = false;
    std::optional<std::string> note;

    static auto fields() {
        using tocsin::field;
        return tocsin::fields(
            field("s0", &Wide::s0), field("s1", &Wide::s1), field("s2", &Wide::s2),
            field("s3", &Wide::s3), field("s4", &Wide::s4), field("s5", &Wide::s5),
            field("s6", &Wide::s6), field("s7", &Wide::s7), field("s8", &Wide::s8),
            field("s9", &Wide::s9), field("i0", &Wide::i0), field("i1", &Wide::i1),
            field("i2", &Wide::i2), field("i3", &Wide::i3), field("i4", &Wide::i4),
            field("i5", &Wide::i5), field("i6", &Wide::i6), field("d", &Wide::d),
            field("b", &Wide::b), field("note", &Wide::note));
    }
};

/// A model with a field whose view needs a scratch value (an enum): saved through each field's
/// `view`, not ModelInfo::view_fields.
struct Tinted : tocsin::Model<Tinted> {
    static constexpr std::string_view label = "wide.Tinted";
    enum class Tint { red, green };
    std::string name;
    Tint tint = Tint::green;
    std::optional<std::int64_t> weight;
    std::uint64_t big = 0;
    std::optional<tocsin::db::Blob> data;
    tocsin::ForeignKey<Wide> wide{tocsin::on_delete::cascade};

    static auto fields() {
        using tocsin::field;
        return tocsin::fields(field("name", &Tinted::name), field("tint", &Tinted::tint),
                              field("weight", &Tinted::weight), field("big", &Tinted::big),
                              field("data", &Tinted::data),
                              field("wide", &Tinted::wide, {.null = true}));
    }
};
}  // namespace wide

namespace tocsin::test {
namespace {
namespace wide_model_test {

using wide::Tinted;
using wide::Wide;

class WideModelTest : public InstalledAppsTest {
  protected:
    [[nodiscard]] std::vector<std::shared_ptr<AppConfig>> installed_apps() const override {
        return {std::make_shared<App<Wide, Tinted>>("wide")};
    }
    void SetUp() override {
        InstalledAppsTest::SetUp();
        migrate();
    }

    /// A Wide whose every field depends on `k` (strings longer than the small-string buffer).
    static Wide make(int k) {
        Wide w;
        std::string* strings[] = {&w.s0, &w.s1, &w.s2, &w.s3, &w.s4,
                                  &w.s5, &w.s6, &w.s7, &w.s8, &w.s9};
        for (int j = 0; j < 10; ++j) {
            *strings[j] = "string number " + std::to_string(j) + " of row " + std::to_string(k);
        }
        int* ints[] = {&w.i0, &w.i1, &w.i2, &w.i3, &w.i4, &w.i5, &w.i6};
        for (int j = 0; j < 7; ++j) {
            *ints[j] = k * 100 + j;
        }
        w.d = k + 0.5;
        w.b = k % 2 == 1;
        w.note = "note " + std::to_string(k);
        return w;
    }
    static void expect_same(const Wide& a, const Wide& b) {
        EXPECT_EQ(a.s0, b.s0);
        EXPECT_EQ(a.s4, b.s4);
        EXPECT_EQ(a.s9, b.s9);
        EXPECT_EQ(a.i0, b.i0);
        EXPECT_EQ(a.i6, b.i6);
        EXPECT_EQ(a.d, b.d);
        EXPECT_EQ(a.b, b.b);
        EXPECT_EQ(a.note, b.note);
    }
};

TEST_F(WideModelTest, InsertUpdateAndUpdateFieldsKeepEveryField) {
    Wide w = make(1);
    w.save();
    ASSERT_TRUE(w.id);
    expect_same(Wide::objects().get(where(&Wide::id) == *w.id), w);

    Wide changed = make(2);
    changed.id = w.id;
    changed.save();  // an UPDATE of all 20 columns plus the id
    expect_same(Wide::objects().get(where(&Wide::id) == *w.id), changed);

    changed.s9 = "only this one";
    changed.i6 = -1;
    changed.note.reset();
    changed.save({.update_fields = std::vector<std::string>{"s9", "note"}});
    const Wide loaded = Wide::objects().get(where(&Wide::id) == *w.id);
    EXPECT_EQ(loaded.s9, "only this one");
    EXPECT_EQ(loaded.note, std::nullopt);
    EXPECT_EQ(loaded.i6, 206);  // not in update_fields: unchanged

    Wide explicit_id = make(3);
    explicit_id.id = 77;  // an INSERT with the id: 21 parameters
    explicit_id.save({.force_insert = true});
    expect_same(Wide::objects().get(where(&Wide::id) == 77), explicit_id);
    EXPECT_EQ(Wide::objects().count(), 2U);
}

// The views a save binds come from one typed call (ModelInfo::view_fields) for a model whose
// fields all have a direct view, and are exactly what each field's `view` gives.
TEST_F(WideModelTest, TheTypedViewsAreEachFieldsView) {
    const ModelInfo& info = Wide::info();
    ASSERT_NE(info.view_fields, nullptr);
    EXPECT_EQ(Tinted::info().view_fields, nullptr);  // an enum: each field's view serves
    for (const bool null_note : {false, true}) {
        Wide w = make(4);
        w.d = -2.75;
        if (null_note) {
            w.note.reset();
        }
        std::vector<db::ValueRef> typed(info.fields.size());
        EXPECT_EQ(info.view_fields(w, typed.data()), info.fields.size());  // no NaN
        for (std::size_t i = 0; i < info.fields.size(); ++i) {
            db::Value scratch;
            const db::ValueRef one = info.fields[i].view(w, scratch);
            EXPECT_EQ(typed[i].to_value(), one.to_value()) << info.fields[i].name;
            EXPECT_EQ(typed[i].to_value(), info.fields[i].get(w)) << info.fields[i].name;
        }
    }
}

// A NaN is refused on the typed path as on the other (FieldsTest.NaNIsRefusedBefore...): the
// first NaN field is named, nothing is written, and an update keeps the row's value.
TEST_F(WideModelTest, ANaNIsRefusedOnTheTypedPath) {
    ASSERT_NE(Wide::info().view_fields, nullptr);
    Wide w = make(5);
    w.d = std::numeric_limits<double>::quiet_NaN();
    std::vector<db::ValueRef> typed(Wide::info().fields.size());
    EXPECT_EQ(Wide::info().view_fields(w, typed.data()), 17U);  // "d", the 18th field
    try {
        w.save();
        ADD_FAILURE() << "NaN was saved";
    } catch (const db::DataError& e) {
        EXPECT_NE(std::string(e.what()).find("wide.Wide.d = NaN"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("wide_model_test.cpp:"), std::string::npos)
            << e.what();
    }
    EXPECT_FALSE(w.id.has_value());
    EXPECT_EQ(Wide::objects().count(), 0U);
    w.d = 1.5;
    w.save();
    w.d = -std::numeric_limits<double>::quiet_NaN();
    EXPECT_THROW(w.save(), db::DataError);
    EXPECT_EQ(Wide::objects().get(where(&Wide::id) == *w.id).d, 1.5);
}

// A model saved through each field's view (an enum field) keeps every value, NULL or not.
TEST_F(WideModelTest, AModelWithoutTypedViewsSavesEveryField) {
    Wide w = make(6);
    w.save();
    Tinted t;
    t.name = "t";
    t.tint = Tinted::Tint::red;
    t.weight = 7;
    t.big = 1U << 20U;
    t.data = db::Blob{std::byte{1}, std::byte{2}};
    t.wide = w;
    t.save();
    Tinted loaded = Tinted::objects().get(where(&Tinted::id) == *t.id);
    EXPECT_EQ(loaded.name, "t");
    EXPECT_EQ(loaded.tint, Tinted::Tint::red);
    EXPECT_EQ(loaded.weight, std::optional<std::int64_t>(7));
    EXPECT_EQ(loaded.big, 1U << 20U);
    EXPECT_EQ(loaded.data, t.data);
    EXPECT_EQ(loaded.wide.id(), w.id);
    loaded.weight.reset();
    loaded.data.reset();
    loaded.wide.set_id(std::nullopt);
    loaded.save();
    loaded = Tinted::objects().get(where(&Tinted::id) == *t.id);
    EXPECT_EQ(loaded.weight, std::nullopt);
    EXPECT_EQ(loaded.data, std::nullopt);
    EXPECT_FALSE(loaded.wide.id().has_value());
}

}  // namespace wide_model_test
}  // namespace
}  // namespace tocsin::test
