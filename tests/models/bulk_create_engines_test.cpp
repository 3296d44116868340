// bulk_create() on both engines: on PostgreSQL it writes multi-row INSERTs of up to 1000 rows
// (RETURNING the ids, read back in row order); on SQLite one INSERT per row. Either way every
// object gets its own id, in order, and a failure in any batch leaves nothing written.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "test_support.hpp"

namespace tocsin::test {
namespace {
namespace bulk_create_engines_test {

using library::Author;

std::string engine_name(const ::testing::TestParamInfo<std::string>& param) {
    return param.param;
}

class BulkCreateTest : public ::testing::TestWithParam<std::string> {
  protected:
    void SetUp() override {
        build_test_models();
        if (GetParam() == "postgresql") {
            pg_ = std::make_unique<test_support::PgDatabase>();
            TOCSIN_REQUIRE_POSTGRESQL(*pg_);
            db::configure({{"default", pg_->settings()}});
        } else {
            db::configure({{"default", {.engine = "sqlite", .name = dir_.file("default.db")}}});
        }
        migrate();
    }
    void TearDown() override {
        db::close_all();
        db::configure({});
    }

    static std::vector<Author> authors(int n) {
        std::vector<Author> out;
        for (int i = 0; i < n; ++i) {
            out.push_back({.name = "author " + std::to_string(i), .born = i});
        }
        return out;
    }

  private:
    TempDir dir_;
    std::unique_ptr<test_support::PgDatabase> pg_;
};

TEST_P(BulkCreateTest, EveryObjectGetsItsRowsIdInOrderAcrossBatches) {
    std::vector<Author> objects = authors(2500);  // three batches on PostgreSQL
    Author::objects().bulk_create(objects);
    ASSERT_EQ(Author::objects().count(), 2500U);
    for (std::size_t i = 0; i < objects.size(); ++i) {
        ASSERT_TRUE(objects[i].id.has_value()) << i;
        if (i > 0) {
            ASSERT_GT(*objects[i].id, *objects[i - 1].id) << i;
        }
    }
    for (const std::size_t i :
         {std::size_t{0}, std::size_t{999}, std::size_t{1000}, std::size_t{2499}}) {
        const Author a = Author::objects().get(where(&ModelBase::id) == *objects[i].id);
        EXPECT_EQ(a.name, objects[i].name);
        EXPECT_EQ(a.born, objects[i].born);
    }
    // The objects are saved: saving one again updates its row.
    objects[1500].born = -1;
    objects[1500].save();
    EXPECT_EQ(Author::objects().count(), 2500U);
    EXPECT_EQ(Author::objects().get(where(&Author::name) == "author 1500").born, -1);
}

TEST_P(BulkCreateTest, AFailureInALaterBatchLeavesNothingWritten) {
    std::vector<Author> objects = authors(2500);
    objects[2200].name = objects[10].name;  // unique violated in the third batch
    EXPECT_THROW(Author::objects().bulk_create(objects), db::IntegrityError);
    EXPECT_EQ(Author::objects().count(), 0U);
}

TEST_P(BulkCreateTest, OneObjectAndNone) {
    std::vector<Author> none;
    Author::objects().bulk_create(none);
    std::vector<Author> one = authors(1);
    Author::objects().bulk_create(one);
    ASSERT_TRUE(one[0].id.has_value());
    EXPECT_EQ(Author::objects().get().name, "author 0");
}

INSTANTIATE_TEST_SUITE_P(Engines, BulkCreateTest,
                         ::testing::Values(std::string("sqlite"), std::string("postgresql")),
                         engine_name);

}  // namespace bulk_create_engines_test
}  // namespace
}  // namespace tocsin::test
