// tocsin::db::ValueRef, view_of(), and binding views (Statement::bind_views,
// Database::execute with views).
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "test_support.hpp"
#include "tocsin/db.hpp"

namespace tocsin::db {

/// A type stored as text through its own value_traits: view_of must keep its text in scratch.
struct Colour {
    std::string name;
};
template <>
struct value_traits<Colour> {
    static constexpr LogicalType logical_type = LogicalType::text;
    static constexpr bool nullable = false;
    static Value to_value(const Colour& c) { return Value("colour:" + c.name); }
    static Colour from_value(const Value& v) { return Colour{v.as_text().substr(7)}; }
};

namespace {
namespace value_ref_test {

TEST(ValueRefTest, ViewsEachStorageClassOfAValue) {
    const Value text("hello");
    const ValueRef t(text);
    ASSERT_EQ(t.type(), ValueType::text);
    EXPECT_EQ(std::get<std::string_view>(t.storage()).data(), text.as_text().data());  // borrowed
    const Value blob(Blob{std::byte{1}, std::byte{2}});
    const ValueRef b(blob);
    ASSERT_EQ(b.type(), ValueType::blob);
    EXPECT_EQ(std::get<std::span<const std::byte>>(b.storage()).data(), blob.as_blob().data());
    EXPECT_EQ(ValueRef(Value(42)).type(), ValueType::integer);
    EXPECT_EQ(ValueRef(Value(1.5)).type(), ValueType::real);
    EXPECT_EQ(ValueRef(Value()).type(), ValueType::null);
}

TEST(ValueRefTest, ToValueMakesAnOwningCopy) {
    for (const Value& v :
         {Value(), Value(7), Value(2.5), Value("abc"), Value(Blob{std::byte{9}, std::byte{0}})}) {
        EXPECT_EQ(ValueRef(v).to_value(), v) << to_string(v);
    }
}

TEST(ValueRefTest, ViewOfBorrowsStringsAndBlobsInPlace) {
    Value scratch;
    const std::string name = "a name longer than the small-string buffer";
    const ValueRef v = view_of(name, scratch);
    EXPECT_EQ(std::get<std::string_view>(v.storage()).data(), name.data());
    EXPECT_TRUE(scratch.is_null());  // not used
    const Blob bytes{std::byte{3}};
    EXPECT_EQ(std::get<std::span<const std::byte>>(view_of(bytes, scratch).storage()).data(),
              bytes.data());
    const std::optional<std::string> some = name;
    EXPECT_EQ(std::get<std::string_view>(view_of(some, scratch).storage()).data(), some->data());
    EXPECT_EQ(view_of(std::optional<std::string>(), scratch).type(), ValueType::null);
}

TEST(ValueRefTest, ViewOfConvertsOtherTypesLikeValueTraits) {
    Value scratch;
    EXPECT_EQ(view_of(true, scratch).to_value(), Value(1));
    EXPECT_EQ(view_of(std::int16_t{-3}, scratch).to_value(), Value(-3));
    EXPECT_EQ(view_of(0.25F, scratch).to_value(), Value(0.25));
    const auto when = std::chrono::sys_seconds(std::chrono::seconds(1'700'000'000));
    EXPECT_EQ(view_of(when, scratch).to_value(), Value(std::int64_t{1'700'000'000'000'000}));
    EXPECT_EQ(view_of(std::optional<int>(), scratch).type(), ValueType::null);
    EXPECT_EQ(view_of(std::optional<int>(5), scratch).to_value(), Value(5));
    EXPECT_TRUE(scratch.is_null());  // numbers are copied into the view itself
}

TEST(ValueRefTest, ViewOfKeepsACustomTypesTextInScratch) {
    Value scratch;
    const ValueRef v = view_of(Colour{"red"}, scratch);
    EXPECT_EQ(scratch, Value("colour:red"));
    EXPECT_EQ(std::get<std::string_view>(v.storage()).data(), scratch.as_text().data());
}

class BindViewsTest : public ::testing::Test {
  protected:
    std::shared_ptr<Backend> open() { return open_backend({.name = dir.file("views.db")}); }
    tocsin::test_support::TempDir dir;
};

TEST_F(BindViewsTest, BindsEveryViewToItsParameter) {
    auto db = open();
    const std::string text = "borrowed text that is long enough to live on the heap";
    const Blob blob{std::byte{0xAB}};
    auto st = db->cached("SELECT ?1, ?2, ?3, ?4, ?5");
    const std::vector<ValueRef> views{ValueRef(std::string_view(text)), ValueRef(std::int64_t{4}),
                                      ValueRef(0.5), ValueRef(std::span<const std::byte>(blob)),
                                      ValueRef()};
    st->bind_views(views);
    ASSERT_TRUE(st->step());
    EXPECT_EQ(st->row(), (Row{Value(text), Value(4), Value(0.5), Value(blob), Value()}));
}

TEST_F(BindViewsTest, AWrongNumberOfViewsIsAProgrammingError) {
    auto db = open();
    auto st = db->cached("SELECT ?1, ?2");
    const std::vector<ValueRef> one{ValueRef(std::int64_t{1})};
    EXPECT_THROW(st->bind_views(one), ProgrammingError);
}

TEST(DatabaseViewsTest, ExecuteWithViewsWritesTheRow) {
    tocsin::test_support::TempDir dir;
    Database db("views", Settings{.name = dir.file("exec.db")});
    db.execute("CREATE TABLE t (name TEXT NOT NULL, n INTEGER)");
    const std::string name = "a name longer than the small-string buffer, on the heap";
    const std::vector<ValueRef> views{ValueRef(std::string_view(name)), ValueRef()};
    EXPECT_EQ(db.execute("INSERT INTO t (name, n) VALUES (?1, ?2)", std::span(views)), 1);
    EXPECT_EQ(db.query("SELECT name, n FROM t"), (std::vector<Row>{Row{Value(name), Value()}}));
}

}  // namespace value_ref_test
}  // namespace
}  // namespace tocsin::db
