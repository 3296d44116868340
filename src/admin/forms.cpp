// The admin's model forms (Django's ModelForm as the admin builds it): one input per field of
// the model — a text input, a number, a checkbox, a date and time, a select for a foreign key, a
// multi-select for a many-to-many relation — each value checked, and unique values looked up,
// with the error beside its field. A valid form is saved through the model layer, so pre_save,
// post_save and m2m_changed fire as in Django's admin.
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <string>

#include "internal.hpp"
#include "tocsin/db/atomic.hpp"
#include "tocsin/models/many_to_many.hpp"
#include "tocsin/models/query.hpp"

namespace tocsin::admin::detail {

namespace {

bool is_user_password(const ModelInfo& info, const FieldInfo& field) {
    return field.name == "password" && info.label() == auth::user_model_label();
}

/// Text fields that are unique must be filled in (two empty values would collide); the user
/// model's username too.
bool required(const FieldInfo& field) {
    return !field.nullable && field.unique && field.type == db::LogicalType::text;
}

std::optional<std::int64_t> parse_integer(const std::string& text) {
    if (text.empty()) {
        return std::nullopt;
    }
    errno = 0;
    char* end = nullptr;
    const long long v = std::strtoll(text.c_str(), &end, 10);
    if (errno != 0 || end != text.c_str() + text.size()) {
        return std::nullopt;
    }
    return static_cast<std::int64_t>(v);
}

std::optional<double> parse_real(const std::string& text) {
    if (text.empty()) {
        return std::nullopt;
    }
    errno = 0;
    char* end = nullptr;
    const double v = std::strtod(text.c_str(), &end);
    if (errno != 0 || end != text.c_str() + text.size()) {
        return std::nullopt;
    }
    return v;
}

/// The objects of `target` a select offers: (id, name), by id, at most `limit`.
std::vector<std::pair<std::int64_t, std::string>> choices(const ModelInfo& target,
                                                          const std::string& database,
                                                          std::size_t limit) {
    tocsin::detail::QueryParts q;
    q.info = &target;
    q.database = database;
    q.order = {{"id", false}};
    q.limit = limit;
    std::vector<std::pair<std::int64_t, std::string>> out;
    for (const auto& row : tocsin::detail::fetch_rows(q)) {
        auto object = target.make();
        tocsin::detail::load_row(*object, target, row, database);
        out.emplace_back(*object->id, object_name(target, *object));
    }
    return out;
}

bool exists(const ModelInfo& info, const std::string& database, std::int64_t id) {
    return load_object(info, id, database) != nullptr;
}

/// The related ids of `relation` for the saved `object`.
std::vector<std::int64_t> related_ids(const ModelInfo& info, ModelBase& object,
                                      const ManyToManyInfo& relation, const std::string& database) {
    auto side = tocsin::detail::m2m_side(object, info, relation, false);
    side.database = database;
    tocsin::detail::QueryParts q;
    q.info = &relation.target();
    q.database = database;
    q.condition = tocsin::detail::m2m_condition(side);
    q.order = {{"id", false}};
    std::vector<std::int64_t> out;
    for (const auto& row : tocsin::detail::fetch_rows(q)) {
        out.push_back(row.at(0).as_integer());
    }
    return out;
}

}  // namespace

bool Form::valid() const {
    return error.empty() && std::all_of(fields.begin(), fields.end(),
                                        [](const FormField& f) { return f.error.empty(); });
}

Form form_from_object(const ModelInfo& info, const ModelBase* object, const std::string& database) {
    Form form;
    form.info = &info;
    std::shared_ptr<ModelBase> fresh;
    if (object == nullptr) {
        fresh = info.make();
        object = fresh.get();
    }
    for (const FieldInfo* field : info.all_fields) {
        FormField f;
        f.name = field->name;
        f.field = field;
        const auto value = field->get(*object);
        if (is_user_password(info, *field)) {
            f.password = true;  // never shown: a new password is typed, or none
        } else if (field->is_relation) {
            if (!value.is_null()) {
                f.selected.push_back(value.as_integer());
            }
        } else if (field->type == db::LogicalType::boolean) {
            f.checked = !value.is_null() && value.as_integer() != 0;
        } else if (field->type == db::LogicalType::timestamp && !object->id &&
                   (value.is_null() || value.as_integer() == 0)) {
            // A new object's unset time: now for a required one (Django's default=now), else
            // empty.
            if (!field->nullable) {
                const auto now =
                    std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
                f.text = format_timestamp(static_cast<std::int64_t>(
                    std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch())
                        .count()));
            }
        } else if (!value.is_null()) {
            f.text = field->type == db::LogicalType::timestamp
                         ? format_timestamp(value.as_integer())
                         : display_value(*field, *object, database);
        }
        form.fields.push_back(std::move(f));
    }
    for (const ManyToManyInfo& relation : info.many_to_many) {
        FormField f;
        f.name = relation.name;
        f.relation = &relation;
        if (object->id) {
            f.selected = related_ids(info, const_cast<ModelBase&>(*object), relation, database);
        }
        form.fields.push_back(std::move(f));
    }
    return form;
}

Form form_from_post(const ModelInfo& info, const Request& request, std::optional<std::int64_t> id,
                    const std::string& database) {
    Form form;
    form.info = &info;
    for (const FieldInfo* field : info.all_fields) {
        FormField f;
        f.name = field->name;
        f.field = field;
        f.text = request.post(field->name);
        if (is_user_password(info, *field)) {
            f.password = true;
            if (!id && f.text.empty()) {
                f.error = "This field is required.";
            }
        } else if (field->is_relation) {
            if (f.text.empty()) {
                if (!field->nullable) {
                    f.error = "This field is required.";
                }
            } else if (const auto chosen = parse_integer(f.text);
                       chosen && exists(field->target(), database, *chosen)) {
                f.selected.push_back(*chosen);
            } else {
                f.error = "Select a valid choice. That choice is not one of the available choices.";
            }
        } else {
            switch (field->type) {
                case db::LogicalType::boolean:
                    f.checked = request.posted(field->name);
                    break;
                case db::LogicalType::integer:
                    if (f.text.empty() ? !field->nullable : !parse_integer(f.text)) {
                        f.error =
                            f.text.empty() ? "This field is required." : "Enter a whole number.";
                    }
                    break;
                case db::LogicalType::real:
                    if (f.text.empty() ? !field->nullable : !parse_real(f.text)) {
                        f.error = f.text.empty() ? "This field is required." : "Enter a number.";
                    }
                    break;
                case db::LogicalType::timestamp:
                    if (f.text.empty() ? !field->nullable : !parse_timestamp(f.text)) {
                        f.error = f.text.empty()
                                      ? "This field is required."
                                      : "Enter a valid date/time (YYYY-MM-DD HH:MM:SS, UTC).";
                    }
                    break;
                case db::LogicalType::text:
                    if (f.text.empty() && required(*field)) {
                        f.error = "This field is required.";
                    }
                    break;
                case db::LogicalType::blob:
                    break;
            }
        }
        // Unique values (Django's validate_unique): looked up before the save.
        if (f.error.empty() && field->unique && !f.password &&
            field->type != db::LogicalType::blob &&
            !(f.text.empty() && (field->nullable || field->is_relation))) {
            db::Value value;
            if (field->is_relation) {
                value = db::Value(f.selected.front());
            } else if (field->type == db::LogicalType::integer) {
                value = db::Value(*parse_integer(f.text));
            } else if (field->type == db::LogicalType::text) {
                value = db::Value(f.text);
            }
            if (!value.is_null()) {
                tocsin::detail::QueryParts q;
                q.info = &info;
                q.database = database;
                q.condition =
                    tocsin::detail::column_condition(field->column, Condition::Op::eq, {value});
                if (id) {
                    q.condition = q.condition && tocsin::detail::column_condition(
                                                     "id", Condition::Op::ne, {db::Value(*id)});
                }
                if (tocsin::detail::count_rows(q) > 0) {
                    f.error = info.model_name + " with this " + verbose(field->name, true) +
                              " already exists.";
                }
            }
        }
        form.fields.push_back(std::move(f));
    }
    for (const ManyToManyInfo& relation : info.many_to_many) {
        FormField f;
        f.name = relation.name;
        f.relation = &relation;
        for (const auto& text : request.post_all(relation.name)) {
            const auto chosen = parse_integer(text);
            if (!chosen || !exists(relation.target(), database, *chosen)) {
                f.error =
                    "Select a valid choice. " + text + " is not one of the available choices.";
                break;
            }
            f.selected.push_back(*chosen);
        }
        form.fields.push_back(std::move(f));
    }
    return form;
}

bool save_form(Form& form, ModelBase& object, const std::string& database) {
    const ModelInfo& info = *form.info;
    try {
        tocsin::atomic(database, [&] {
            for (const FormField& f : form.fields) {
                if (f.field == nullptr) {
                    continue;
                }
                const FieldInfo& field = *f.field;
                if (f.password) {
                    if (!f.text.empty()) {
                        field.set(object, db::Value(auth::make_password(f.text)));
                    }
                    continue;
                }
                if (field.is_relation) {
                    field.set(object, f.selected.empty() ? db::Value() : db::Value(f.selected[0]));
                    continue;
                }
                switch (field.type) {
                    case db::LogicalType::boolean:
                        field.set(object, db::Value(std::int64_t{f.checked ? 1 : 0}));
                        break;
                    case db::LogicalType::integer:
                        field.set(object,
                                  f.text.empty() ? db::Value() : db::Value(*parse_integer(f.text)));
                        break;
                    case db::LogicalType::real:
                        field.set(object,
                                  f.text.empty() ? db::Value() : db::Value(*parse_real(f.text)));
                        break;
                    case db::LogicalType::timestamp:
                        field.set(object, f.text.empty() ? db::Value()
                                                         : db::Value(*parse_timestamp(f.text)));
                        break;
                    case db::LogicalType::text:
                        field.set(object, db::Value(f.text));
                        break;
                    case db::LogicalType::blob:
                        break;
                }
            }
            tocsin::detail::save_instance(object, info, SaveOptions{.database = database});
            for (const FormField& f : form.fields) {
                if (f.relation == nullptr) {
                    continue;
                }
                auto side = tocsin::detail::m2m_side(object, info, *f.relation, false);
                side.database = database;
                std::vector<tocsin::detail::M2MItem> items(f.selected.begin(), f.selected.end());
                tocsin::detail::m2m_set(side, items, {});
            }
        });
    } catch (const std::exception& e) {
        form.error = std::string("The ") + info.model_name + " could not be saved: " + e.what();
        return false;
    }
    return true;
}

Html render_form(const Form& form, const std::string& database, std::size_t max_choices) {
    Html h;
    if (!form.error.empty()) {
        h << Raw("<p class=\"errornote\" id=\"form-error\">") << form.error << Raw("</p>");
    } else if (!form.valid()) {
        h << Raw("<p class=\"errornote\">Please correct the errors below.</p>");
    }
    for (const FormField& f : form.fields) {
        const std::string id = "id_" + f.name;
        h << Raw("<div class=\"form-row\"");
        h.attr("id", "row_" + f.name) << Raw(">");
        if (!f.error.empty()) {
            h << Raw("<ul class=\"errorlist\"><li>") << f.error << Raw("</li></ul>");
        }
        h << Raw("<label");
        h.attr("for", id) << Raw(">") << verbose(f.name, true) << Raw(":</label> ");
        if (f.relation != nullptr || (f.field != nullptr && f.field->is_relation)) {
            const ModelInfo& target =
                f.relation != nullptr ? f.relation->target() : f.field->target();
            h << Raw("<select");
            h.attr("name", f.name).attr("id", id);
            if (f.relation != nullptr) {
                h << Raw(" multiple size=\"6\"");
            }
            h << Raw(">");
            if (f.relation == nullptr) {
                h << Raw("<option value=\"\">---------</option>");
            }
            for (const auto& [choice, name] : choices(target, database, max_choices)) {
                h << Raw("<option");
                h.attr("value", std::to_string(choice));
                if (std::find(f.selected.begin(), f.selected.end(), choice) != f.selected.end()) {
                    h << Raw(" selected");
                }
                h << Raw(">") << name << Raw("</option>");
            }
            h << Raw("</select>");
        } else if (f.password) {
            h << Raw("<input type=\"password\" autocomplete=\"new-password\"");
            h.attr("name", f.name).attr("id", id) << Raw(">");
            h << Raw(
                " <span class=\"help\">Stored as a hash; leave empty to keep the current "
                "password when changing.</span>");
        } else if (f.field->type == db::LogicalType::boolean) {
            h << Raw("<input type=\"checkbox\" value=\"on\"");
            h.attr("name", f.name).attr("id", id);
            if (f.checked) {
                h << Raw(" checked");
            }
            h << Raw(">");
        } else if (f.field->type == db::LogicalType::blob) {
            h << Raw("<span class=\"help\">(binary data, not editable here)</span>");
        } else {
            h << Raw("<input type=\"text\"");
            h.attr("name", f.name).attr("id", id).attr("value", f.text) << Raw(">");
            if (f.field->type == db::LogicalType::timestamp) {
                h << Raw(" <span class=\"help\">YYYY-MM-DD HH:MM:SS, UTC</span>");
            }
        }
        h << Raw("</div>");
    }
    return h;
}

}  // namespace tocsin::admin::detail
