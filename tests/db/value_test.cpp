// tocsin::db::Value and the C++ type mapping (value_traits).
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <limits>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>

#include "tocsin/db.hpp"

namespace tocsin::db {
namespace {
namespace value_test {

enum class Status : std::int16_t { draft = 0, published = 2 };

TEST(ValueTest, DefaultIsNull) {
    EXPECT_TRUE(Value().is_null());
    EXPECT_EQ(Value(), Value(null));
    EXPECT_EQ(Value(nullptr), Value(std::nullopt));
    EXPECT_EQ(Value().type(), ValueType::null);
}

TEST(ValueTest, HoldsTheFiveStorageClasses) {
    EXPECT_EQ(Value(42).type(), ValueType::integer);
    EXPECT_EQ(Value(1.5).type(), ValueType::real);
    EXPECT_EQ(Value("text").type(), ValueType::text);
    EXPECT_EQ(Value(std::string_view("view")).as_text(), "view");
    EXPECT_EQ(Value(Blob{std::byte{1}}).type(), ValueType::blob);
    EXPECT_EQ(Value(42).as_integer(), 42);
    EXPECT_EQ(Value(42).as_real(), 42.0);  // integers read as reals
}

TEST(ValueTest, WrongAccessIsADataErrorSayingWhat) {
    try {
        (void)Value("abc").as_integer();
        ADD_FAILURE();
    } catch (const DataError& e) {
        EXPECT_EQ(e.message(), "cannot read a text value as an integer");
    }
    try {
        (void)Value().as_text();
        ADD_FAILURE();
    } catch (const DataError& e) {
        EXPECT_EQ(e.message(), "cannot read NULL as text");
    }
    EXPECT_THROW((void)Value(1.5).as_integer(), DataError);
    EXPECT_THROW((void)Value(1).as_blob(), DataError);
}

TEST(ValueTest, BoolsAreIntegers) {
    EXPECT_EQ(Value(true), Value(1));
    EXPECT_EQ(Value(false), Value(0));
    EXPECT_TRUE(from_value<bool>(Value(5)));
    EXPECT_EQ(value_traits<bool>::logical_type, LogicalType::boolean);
}

TEST(ValueTest, IntegersAreRangeChecked) {
    EXPECT_EQ(from_value<std::uint8_t>(Value(255)), 255);
    try {
        (void)from_value<std::int8_t>(Value(300));
        ADD_FAILURE();
    } catch (const DataError& e) {
        EXPECT_EQ(e.message(), "integer 300 does not fit in a 8-bit signed integer");
    }
    EXPECT_THROW((void)from_value<unsigned>(Value(-1)), DataError);
    EXPECT_THROW((void)to_value(std::numeric_limits<std::uint64_t>::max()), DataError);
    EXPECT_EQ(to_value(std::uint64_t{7}), Value(7));
    EXPECT_EQ(value_traits<long>::logical_type, LogicalType::integer);
}

TEST(ValueTest, EnumsAreTheirUnderlyingIntegers) {
    EXPECT_EQ(Value(Status::published), Value(2));
    EXPECT_EQ(from_value<Status>(Value(2)), Status::published);
    EXPECT_THROW((void)from_value<Status>(Value(1'000'000)), DataError);
}

TEST(ValueTest, FloatingPoint) {
    EXPECT_EQ(Value(0.5F), Value(0.5));
    EXPECT_EQ(from_value<float>(Value(0.5)), 0.5F);
    EXPECT_EQ(from_value<double>(Value(3)), 3.0);
    EXPECT_EQ(value_traits<double>::logical_type, LogicalType::real);
}

TEST(ValueTest, TimePointsAreMicrosecondsSinceTheEpoch) {
    using namespace std::chrono;
    const sys_time<nanoseconds> t{nanoseconds{1'700'000'000'123'456'789}};
    EXPECT_EQ(to_value(t), Value(std::int64_t{1'700'000'000'123'456}));  // floored to µs
    EXPECT_EQ(from_value<sys_time<nanoseconds>>(to_value(t)),
              sys_time<nanoseconds>{nanoseconds{1'700'000'000'123'456'000}});
    const sys_time<nanoseconds> before{nanoseconds{-1'500}};  // 1.5 µs before the epoch
    EXPECT_EQ(to_value(before), Value(-2));                   // floor, not truncation
    EXPECT_EQ(from_value<sys_seconds>(Value(-1)), sys_seconds{seconds{-1}});
    EXPECT_EQ(value_traits<Timestamp>::logical_type, LogicalType::timestamp);
}

// A nanosecond time_point ends in 2262: a later instant is a DataError, not an overflow.
TEST(ValueTest, TimePointsOutOfTheirRangeAreDataErrors) {
    using namespace std::chrono;
    const std::int64_t year_2300 = 10'413'792'000'000'000;  // 2300-01-01T00:00:00Z in µs
    EXPECT_THROW((void)from_value<sys_time<nanoseconds>>(Value(year_2300)), DataError);
    EXPECT_THROW((void)from_value<sys_time<nanoseconds>>(Value(-year_2300)), DataError);
    EXPECT_EQ(from_value<sys_seconds>(Value(year_2300)), sys_seconds{seconds{10'413'792'000}});
    EXPECT_EQ(from_value<Timestamp>(Value(year_2300)), Timestamp{microseconds{year_2300}});
}

TEST(ValueTest, OptionalsAreNullable) {
    EXPECT_EQ(Value(std::optional<int>()), Value());
    EXPECT_EQ(Value(std::optional<int>(3)), Value(3));
    EXPECT_EQ(from_value<std::optional<std::string>>(Value()), std::nullopt);
    EXPECT_EQ(from_value<std::optional<std::string>>(Value("x")), "x");
    EXPECT_TRUE(value_traits<std::optional<int>>::nullable);
    EXPECT_FALSE(value_traits<int>::nullable);
    EXPECT_EQ(value_traits<std::optional<bool>>::logical_type, LogicalType::boolean);
    EXPECT_THROW((void)from_value<int>(Value()), DataError);
}

TEST(ValueTest, RendersReadably) {
    EXPECT_EQ(to_string(Value()), "NULL");
    EXPECT_EQ(to_string(Value(-3)), "-3");
    EXPECT_EQ(to_string(Value("it's")), "'it''s'");
    EXPECT_EQ(to_string(Value(Blob{std::byte{0}, std::byte{0xAB}})), "x'00ab'");
    std::ostringstream out;
    out << Value(2.5);
    EXPECT_EQ(out.str(), "2.5");
    EXPECT_EQ(to_string(LogicalType::timestamp), "timestamp");
    EXPECT_EQ(to_string(ValueType::blob), "blob");
}

// The one SQL string literal of the db layer (flush_sql, sequence resets, migrations' defaults,
// the renderings above): quotes doubled, nothing else touched.
TEST(ValueTest, SqlTextLiteralDoublesQuotes) {
    EXPECT_EQ(detail::sql_text_literal(""), "''");
    EXPECT_EQ(detail::sql_text_literal("plain"), "'plain'");
    EXPECT_EQ(detail::sql_text_literal("it's"), "'it''s'");
    EXPECT_EQ(detail::sql_text_literal("'"), "''''");
    EXPECT_EQ(detail::sql_text_literal("a''b"), "'a''''b'");
    EXPECT_EQ(detail::sql_text_literal("back\\slash \"dq\" ;--"), "'back\\slash \"dq\" ;--'");
    EXPECT_EQ(detail::sql_text_literal(std::string_view("nul\0in", 6)),
              std::string("'nul\0in'", 8));
    EXPECT_EQ(to_string(Value("'it's'")), detail::sql_text_literal("'it's'"));
}

TEST(ValueTest, StorableConcept) {
    static_assert(Storable<int>);
    static_assert(Storable<std::string>);
    static_assert(Storable<std::optional<Timestamp>>);
    static_assert(Storable<Status>);
    static_assert(!Storable<std::string_view>);  // a view cannot be read back
    static_assert(!Storable<void*>);
    SUCCEED();
}

}  // namespace value_test
}  // namespace
}  // namespace tocsin::db
