// The admin's view of the models: which ones it shows, how it loads an object of any model by
// id (the model layer's type-erased description, ModelInfo), and how it names objects and shows
// values.
#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <string>

#include "internal.hpp"
#include "tocsin/apps/registry.hpp"
#include "tocsin/models/query.hpp"

namespace tocsin::admin::detail {

namespace {
std::string lower(std::string_view s) {
    std::string out(s);
    for (char& c : out) {
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    return out;
}
}  // namespace

std::vector<const ModelInfo*> admin_models(const AdminSettings& settings) {
    std::vector<const ModelInfo*> out;
    for (const auto& app : Apps::instance().app_configs()) {
        for (const auto* description : app->models()) {
            const ModelInfo* info = find_model_info(description->sender);
            if (info != nullptr && !info->auto_created &&
                std::find(settings.exclude.begin(), settings.exclude.end(), info->label()) ==
                    settings.exclude.end()) {
                out.push_back(info);
            }
        }
    }
    return out;
}

const ModelInfo* find_admin_model(const AdminSettings& settings, std::string_view app,
                                  std::string_view model) {
    for (const ModelInfo* info : admin_models(settings)) {
        if (info->app_label == app && lower(info->model_name) == model) {
            return info;
        }
    }
    return nullptr;
}

std::string model_url(const ModelInfo& info) {
    std::string url = "/admin/";
    url += info.app_label;
    url += '/';
    url += lower(info.model_name);
    url += '/';
    return url;
}

std::shared_ptr<ModelBase> load_object(const ModelInfo& info, std::int64_t id,
                                       const std::string& database) {
    tocsin::detail::QueryParts q;
    q.info = &info;
    q.database = database;
    q.condition = tocsin::detail::column_condition("id", Condition::Op::eq, {db::Value(id)});
    q.limit = 1;
    const auto rows = tocsin::detail::fetch_rows(q);
    if (rows.empty()) {
        return nullptr;
    }
    auto object = info.make();
    tocsin::detail::load_row(*object, info, rows.front(), database);
    return object;
}

std::string object_name(const ModelInfo& info, const ModelBase& object) {
    for (const FieldInfo* field : info.all_fields) {
        if (field->unique && !field->is_relation && field->type == db::LogicalType::text) {
            const auto value = field->get(object);
            if (value.type() == db::ValueType::text && !value.as_text().empty()) {
                return value.as_text();
            }
        }
    }
    for (const char* conventional : {"name", "title"}) {
        if (const FieldInfo* field = info.field(conventional);
            field != nullptr && !field->is_relation && field->type == db::LogicalType::text) {
            const auto value = field->get(object);
            if (value.type() == db::ValueType::text && !value.as_text().empty()) {
                return value.as_text();
            }
        }
    }
    std::string name = info.model_name;
    name += " object (";
    name += object.id ? std::to_string(*object.id) : std::string("None");
    name += ')';
    return name;
}

std::string verbose(std::string_view name, bool capital) {
    std::string out(name);
    for (char& c : out) {
        if (c == '_') {
            c = ' ';
        }
    }
    if (!out.empty()) {
        const auto first = static_cast<unsigned char>(out[0]);
        out[0] = static_cast<char>(capital ? std::toupper(first) : std::tolower(first));
    }
    return out;
}

std::string format_timestamp(std::int64_t micros) {
    using namespace std::chrono;
    const sys_time<microseconds> t{microseconds(micros)};
    const auto day = floor<days>(t);
    const year_month_day ymd{day};
    const hh_mm_ss<microseconds> time{t - day};
    char buffer[64];
    std::snprintf(buffer, sizeof buffer, "%04d-%02u-%02u %02d:%02d:%02d",
                  static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                  static_cast<unsigned>(ymd.day()), static_cast<int>(time.hours().count()),
                  static_cast<int>(time.minutes().count()),
                  static_cast<int>(time.seconds().count()));
    std::string out = buffer;
    if (const auto fraction = time.subseconds().count(); fraction != 0) {
        std::snprintf(buffer, sizeof buffer, ".%06lld", static_cast<long long>(fraction));
        out += buffer;
    }
    return out;
}

std::optional<std::int64_t> parse_timestamp(std::string_view text) {
    int y = 0;
    unsigned mo = 0;
    unsigned d = 0;
    int h = 0;
    int mi = 0;
    int s = 0;
    long long fraction = 0;
    int used = 0;
    const std::string copy(text);
    char separator = ' ';
    const int got = std::sscanf(copy.c_str(), "%4d-%2u-%2u%c%2d:%2d%n", &y, &mo, &d, &separator, &h,
                                &mi, &used);
    if (got != 6 || (separator != ' ' && separator != 'T')) {
        return std::nullopt;
    }
    std::string_view rest = std::string_view(copy).substr(static_cast<std::size_t>(used));
    if (!rest.empty() && rest.front() == ':') {
        int more = 0;
        if (std::sscanf(std::string(rest).c_str(), ":%2d%n", &s, &more) != 1) {
            return std::nullopt;
        }
        rest.remove_prefix(static_cast<std::size_t>(more));
        if (!rest.empty() && rest.front() == '.') {
            rest.remove_prefix(1);
            std::string digits;
            while (!rest.empty() && std::isdigit(static_cast<unsigned char>(rest.front())) &&
                   digits.size() < 6) {
                digits += rest.front();
                rest.remove_prefix(1);
            }
            if (digits.empty()) {
                return std::nullopt;
            }
            digits.append(6 - digits.size(), '0');
            fraction = std::stoll(digits);
        }
    }
    if (!rest.empty()) {
        return std::nullopt;
    }
    using namespace std::chrono;
    const year_month_day ymd{year(y), month(mo), day(d)};
    if (!ymd.ok() || h < 0 || h > 23 || mi < 0 || mi > 59 || s < 0 || s > 59) {
        return std::nullopt;
    }
    const auto t = sys_days(ymd) + hours(h) + minutes(mi) + seconds(s) + microseconds(fraction);
    return duration_cast<microseconds>(t.time_since_epoch()).count();
}

std::string display_value(const FieldInfo& field, const ModelBase& object,
                          const std::string& database) {
    const auto value = field.get(object);
    if (value.is_null()) {
        return "-";
    }
    if (field.is_relation) {
        const ModelInfo& target = field.target();
        if (auto related = load_object(target, value.as_integer(), database)) {
            return object_name(target, *related);
        }
        return "#" + std::to_string(value.as_integer());
    }
    switch (field.type) {
        case db::LogicalType::boolean:
            return value.as_integer() != 0 ? "yes" : "no";
        case db::LogicalType::timestamp:
            return format_timestamp(value.as_integer());
        case db::LogicalType::blob:
            return "(" +
                   std::to_string(value.type() == db::ValueType::blob ? value.as_blob().size()
                                                                      : std::size_t{0}) +
                   " bytes)";
        default:
            break;
    }
    switch (value.type()) {
        case db::ValueType::text:
            return value.as_text();
        case db::ValueType::integer:
            return std::to_string(value.as_integer());
        default:
            return db::to_string(value);
    }
}

}  // namespace tocsin::admin::detail
