// A model with more fields than save()'s parameters keep on the stack (16): insert, update,
// update_fields and reading back go through the heap path and lose nothing.
#include <gtest/gtest.h>

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
}  // namespace wide

namespace tocsin::test {
namespace {
namespace wide_model_test {

using wide::Wide;

class WideModelTest : public InstalledAppsTest {
  protected:
    [[nodiscard]] std::vector<std::shared_ptr<AppConfig>> installed_apps() const override {
        return {std::make_shared<App<Wide>>("wide")};
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

}  // namespace wide_model_test
}  // namespace
}  // namespace tocsin::test
