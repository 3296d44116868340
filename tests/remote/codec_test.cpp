// How a remote receiver's arguments travel: custom types through nlohmann JSON's to_json /
// from_json found by ADL, post_save events as primary key and event fields.
#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "tocsin/remote.hpp"

namespace shop {

struct Order {
    int id = 0;
    std::vector<std::string> lines;
    friend bool operator==(const Order&, const Order&) = default;
};
void to_json(nlohmann::json& j, const Order& o) {
    j = nlohmann::json{{"id", o.id}, {"lines", o.lines}};
}
void from_json(const nlohmann::json& j, Order& o) {
    j.at("id").get_to(o.id);
    j.at("lines").get_to(o.lines);
}

struct Opaque {  // no JSON form
    int* pointer = nullptr;
};

}  // namespace shop

namespace tocsin::test {
namespace {
namespace codec_test {

static_assert(remote::RemoteArgument<int>);
static_assert(remote::RemoteArgument<std::string>);
static_assert(remote::RemoteArgument<std::vector<double>>);
static_assert(remote::RemoteArgument<std::map<std::string, int>>);
static_assert(remote::RemoteArgument<shop::Order>);
static_assert(!remote::RemoteArgument<shop::Opaque>);
static_assert(!remote::RemoteArgument<int*>);

TEST(RemoteCodec, CustomArgumentsRoundTripThroughJson) {
    const shop::Order order{7, {"pen", "ink"}};
    const std::string text = remote::detail::encode_arguments(order, 3, std::string("rush"));
    EXPECT_EQ(text, R"([{"id":7,"lines":["pen","ink"]},3,"rush"])");
    const auto [o, n, s] = remote::detail::decode_arguments<shop::Order, int, std::string>(
        nlohmann::json::parse(text));
    EXPECT_EQ(o, order);
    EXPECT_EQ(n, 3);
    EXPECT_EQ(s, "rush");
}

TEST(RemoteCodec, AWrongNumberOfArgumentsIsAClearError) {
    try {
        (void)remote::detail::decode_arguments<int, int>(nlohmann::json::parse("[1]"));
        FAIL();
    } catch (const std::invalid_argument& e) {
        EXPECT_STREQ(e.what(), "the outbox row holds 1 arguments, the signal takes 2");
    }
}

TEST(RemoteCodec, ASaveEventTravelsAsPrimaryKeyAndItsFields) {
    SaveEvent event{.created = true, .raw = false, .database = "default"};
    EXPECT_EQ(remote::detail::encode_save(42, event),
              R"({"created":true,"pk":42,"raw":false,"update_fields":null})");
    event.created = false;
    event.update_fields = std::set<std::string>{"email", "name"};
    const auto back =
        remote::detail::decode_save(nlohmann::json::parse(remote::detail::encode_save(42, event)));
    EXPECT_EQ(back.pk, 42);
    EXPECT_FALSE(back.created);
    EXPECT_FALSE(back.raw);
    EXPECT_EQ(back.update_fields, (std::set<std::string>{"email", "name"}));
    EXPECT_THROW((void)remote::detail::decode_save(nlohmann::json::parse("[1]")),
                 std::invalid_argument);
}

TEST(RemoteCodec, FieldValuesKeepTheirTypeAsJson) {
    using remote::detail::value_from_json;
    using remote::detail::value_to_json;
    const db::Blob blob{std::byte{0x00}, std::byte{0xab}, std::byte{0xff}};
    const std::vector<db::Value> values{
        db::Value(),     db::Value(std::int64_t{1}),   db::Value(1.0),
        db::Value(-2.5), db::Value("text \"quoted\""), db::Value(blob)};
    for (const db::Value& v : values) {
        const db::Value back = value_from_json(nlohmann::json::parse(value_to_json(v).dump()));
        EXPECT_EQ(back.type(), v.type()) << value_to_json(v).dump();
        EXPECT_EQ(back, v) << value_to_json(v).dump();
    }
    EXPECT_EQ(value_to_json(db::Value(blob)).dump(), R"({"blob":"00abff"})");
    EXPECT_THROW((void)value_from_json(nlohmann::json::parse(R"({"blob":"0g"})")),
                 std::invalid_argument);
    EXPECT_THROW((void)value_from_json(nlohmann::json::parse("[1]")), std::invalid_argument);
}

TEST(RemoteCodec, RecordedChangesAreReadBack) {
    const auto back = remote::detail::decode_save(nlohmann::json::parse(
        R"({"pk":1,"created":false,"raw":false,"update_fields":null,"changes":[)"
        R"({"field":"email","previous":"a@x","current":"b@x"},{"field":"age","current":3}]})"));
    ASSERT_TRUE(back.changes);
    ASSERT_EQ(back.changes->size(), 2U);
    EXPECT_EQ((*back.changes)[0].field, "email");
    EXPECT_EQ((*back.changes)[0].previous, db::Value("a@x"));
    EXPECT_EQ((*back.changes)[0].current, db::Value("b@x"));
    EXPECT_FALSE((*back.changes)[1].previous);
    EXPECT_EQ((*back.changes)[1].current, db::Value(std::int64_t{3}));
    EXPECT_FALSE(remote::detail::decode_save(nlohmann::json::parse(R"({"pk":1})")).changes);
}

}  // namespace codec_test
}  // namespace
}  // namespace tocsin::test
