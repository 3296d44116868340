// TOCSIN_EXTERN_MODEL / TOCSIN_INSTANTIATE_MODEL: models whose descriptions are compiled in
// another file (extern_models.cpp) behave as any other: the description, save and its signals,
// queries, a relation's cascade, a model extending another. (That this file does not compile
// them is what the link proves: the declarations leave the descriptions to that file.)
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "extern_models.hpp"
#include "test_support.hpp"

namespace tocsin::test {
namespace {
namespace extern_model_test {

using extern_models::Annex;
using extern_models::Shelf;
using extern_models::Volume;
using Log = std::vector<std::string>;

class ExternModelTest : public ModelTest {
  protected:
    void SetUp() override {
        static_cast<void>(Shelf::info());
        static_cast<void>(Volume::info());
        static_cast<void>(Annex::info());
        ModelTest::SetUp();
    }
};

TEST_F(ExternModelTest, DescriptionIsTheModels) {
    const ModelInfo& shelf = Shelf::info();
    EXPECT_EQ(shelf.app_label, "extern_models");
    EXPECT_EQ(shelf.model_name, "Shelf");
    EXPECT_EQ(shelf.table, "extern_models_shelf");
    EXPECT_EQ(shelf.sender, Sender::of<Shelf>());
    ASSERT_EQ(shelf.fields.size(), 2U);
    EXPECT_EQ(shelf.fields[0].column, "name");
    EXPECT_TRUE(shelf.fields[0].unique);
    EXPECT_EQ(shelf.fields[1].column, "capacity");

    const FieldInfo* to_shelf = Volume::info().field("shelf");
    ASSERT_NE(to_shelf, nullptr);
    EXPECT_EQ(to_shelf->column, "shelf_id");
    EXPECT_TRUE(to_shelf->is_relation);
    ASSERT_NE(to_shelf->target, nullptr);
    EXPECT_EQ(&to_shelf->target(), &Shelf::info());

    EXPECT_EQ(Annex::info().parent, &Shelf::info());
    EXPECT_EQ(Annex::info().pk_column, "shelf_ptr_id");
    EXPECT_NE(Annex::info().field("name"), nullptr);  // inherited
}

TEST_F(ExternModelTest, SaveQueryAndSignals) {
    Log log;
    ScopedConnection on_save = post_save.connect(
        [&log](ModelBase& m, const SaveEvent& e) {
            log.push_back(static_cast<Shelf&>(m).name + (e.created ? " created" : " updated"));
        },
        {.sender = Sender::of<Shelf>()});
    auto a = Shelf::objects().create({.name = "A", .capacity = 3});
    a.capacity = 4;
    a.save();
    EXPECT_EQ(log, (Log{"A created", "A updated"}));
    EXPECT_EQ(Shelf::objects().get(where(&Shelf::name) == "A").capacity, 4);

    Volume v;
    v.shelf = a;
    v.title = "Dune";
    v.save();
    EXPECT_EQ(Volume::objects().filter(where(&Volume::title) == "Dune").count(), 1U);
    a.remove();
    EXPECT_EQ(Volume::objects().count(), 0U);  // cascaded
}

TEST_F(ExternModelTest, ExtendingModel) {
    Annex annex;
    annex.name = "East";
    annex.floor = 2;
    annex.save();
    EXPECT_EQ(Shelf::objects().get(where(&Shelf::name) == "East").id, annex.id);
    EXPECT_EQ(Annex::objects().get(where(&Annex::floor) == 2).name, "East");
    EXPECT_EQ(rows("extern_models_annex"), 1);
}

}  // namespace extern_model_test
}  // namespace
}  // namespace tocsin::test
