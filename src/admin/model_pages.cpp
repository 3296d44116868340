// The admin's model pages (Django's ModelAdmin views): the index of apps and models; per model a
// list (paginated, sorted by a column, searched on its text fields), add and change pages with
// the model's form, and a delete page that lists every object the cascade removes, and what
// protects them, before anything is removed. Every write goes through save() / remove().
#include <algorithm>
#include <string>

#include "internal.hpp"
#include "tocsin/apps/registry.hpp"
#include "tocsin/models/deletion.hpp"
#include "tocsin/models/errors.hpp"
#include "tocsin/models/query.hpp"

namespace tocsin::admin::detail {

namespace {

/// The fields a list shows: every non-blob field but the user model's password.
std::vector<const FieldInfo*> list_fields(const ModelInfo& info) {
    std::vector<const FieldInfo*> out;
    for (const FieldInfo* f : info.all_fields) {
        if (f->type == db::LogicalType::blob ||
            (f->name == "password" && info.label() == auth::user_model_label())) {
            continue;
        }
        out.push_back(f);
    }
    return out;
}

std::string list_url(const ModelInfo& info, std::string_view q, std::string_view o, std::size_t p) {
    std::string url = model_url(info);
    std::string sep = "?";
    if (!q.empty()) {
        url += sep + "q=" + url_encode(q);
        sep = "&";
    }
    if (!o.empty()) {
        url += sep + "o=" + url_encode(o);
        sep = "&";
    }
    if (p > 1) {
        url += sep + "p=" + std::to_string(p);
    }
    return url;
}

std::optional<std::int64_t> parse_id(std::string_view text) {
    if (text.empty() || text.size() > 18 ||
        !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        return std::nullopt;
    }
    return std::stoll(std::string(text));
}

Response list_page(const Request& request, Context& context, const ModelInfo& info) {
    const std::string& database = context.settings->database;
    const std::size_t per_page = std::max<std::size_t>(1, context.settings->per_page);
    const auto fields = list_fields(info);
    const std::string q = request.get("q");
    std::string o = request.get("o");
    tocsin::detail::QueryParts parts;
    parts.info = &info;
    parts.database = database;
    if (!q.empty()) {
        Condition any;
        bool first = true;
        for (const FieldInfo* f : fields) {
            if (f->type != db::LogicalType::text || f->is_relation) {
                continue;
            }
            auto c = tocsin::detail::column_condition(f->column, Condition::Op::icontains,
                                                      {db::Value(q)});
            any = first ? c : (any || c);
            first = false;
        }
        parts.condition =
            first ? tocsin::detail::column_condition("id", Condition::Op::in, {}) : any;
    }
    const bool descending = !o.empty() && o.front() == '-';
    const std::string sort_name = descending ? o.substr(1) : o;
    const FieldInfo* sort_field = nullptr;
    if (!sort_name.empty() && sort_name != "id") {
        const auto it = std::find_if(fields.begin(), fields.end(),
                                     [&](const FieldInfo* f) { return f->name == sort_name; });
        if (it != fields.end()) {
            sort_field = *it;
        } else {
            o.clear();
        }
    }
    if (sort_field != nullptr) {
        parts.order.emplace_back(sort_field->column, descending);
    }
    parts.order.emplace_back("id", sort_field == nullptr ? descending : false);
    const std::size_t total = tocsin::detail::count_rows(parts);
    const std::size_t pages = std::max<std::size_t>(1, (total + per_page - 1) / per_page);
    std::size_t page_number = 1;
    if (const auto p = parse_id(request.get("p")); p && *p >= 1) {
        page_number = std::min<std::size_t>(static_cast<std::size_t>(*p), pages);
    }
    // The page's rows only (LIMIT per_page OFFSET the pages before), as Django's paginator.
    const std::size_t skip = (page_number - 1) * per_page;
    tocsin::detail::set_limits(parts, skip, skip + per_page);  // Django's qs[skip:skip + n]
    auto rows = tocsin::detail::fetch_rows(parts);

    Html h;
    h << Raw("<h1>Select ") << verbose(info.model_name) << Raw(" to change</h1>");
    h << Raw("<p><a class=\"button\" id=\"add-link\"");
    h.attr("href", model_url(info) + "add/")
        << Raw(">Add ") << verbose(info.model_name) << Raw("</a></p>");
    h << Raw(
        "<form method=\"get\" id=\"changelist-search\"><input type=\"text\" name=\"q\" "
        "id=\"searchbar\"");
    h.attr("value", q);
    if (!o.empty()) {
        h << Raw("><input type=\"hidden\" name=\"o\"");
        h.attr("value", o);
    }
    h << Raw("> <input type=\"submit\" value=\"Search\"></form>");
    h << Raw("<table id=\"result_list\"><thead><tr>");
    const auto header = [&](std::string_view name) {
        const bool active = sort_name == name || (sort_name.empty() && name == "id");
        const std::string next =
            active && !descending ? "-" + std::string(name) : std::string(name);
        h << Raw("<th><a");
        h.attr("href", list_url(info, q, next, 1)) << Raw(">") << verbose(name, true);
        if (active) {
            h << (descending ? Raw(" &#9660;") : Raw(" &#9650;"));
        }
        h << Raw("</a></th>");
    };
    header("id");
    for (const FieldInfo* f : fields) {
        header(f->name);
    }
    h << Raw("</tr></thead><tbody>");
    for (std::size_t i = 0; i < rows.size(); ++i) {
        auto object = info.make();
        tocsin::detail::load_row(*object, info, rows[i], database);
        const std::string change = model_url(info) + std::to_string(*object->id) + "/change/";
        h << Raw("<tr><td><a");
        h.attr("href", change) << Raw(">") << *object->id << Raw("</a></td>");
        for (const FieldInfo* f : fields) {
            h << Raw("<td");
            h.attr("class", "field-" + f->name)
                << Raw(">") << display_value(*f, *object, database) << Raw("</td>");
        }
        h << Raw("</tr>");
    }
    h << Raw("</tbody></table><p class=\"paginator\" id=\"paginator\">") << total << Raw(" ")
      << verbose(info.model_name) << (total == 1 ? Raw("") : Raw("s"));
    if (pages > 1) {
        h << Raw(" &mdash; page ") << page_number << Raw(" of ") << pages << Raw(" ");
        if (page_number > 1) {
            h << Raw("<a id=\"previous-page\"");
            h.attr("href", list_url(info, q, o, page_number - 1)) << Raw(">previous</a> ");
        }
        if (page_number < pages) {
            h << Raw("<a id=\"next-page\"");
            h.attr("href", list_url(info, q, o, page_number + 1)) << Raw(">next</a>");
        }
    }
    h << Raw("</p>");
    return page(context, info.model_name, h);
}

Response form_page(const Request& request, Context& context, const ModelInfo& info,
                   std::shared_ptr<ModelBase> object) {
    const std::string& database = context.settings->database;
    const bool adding = object == nullptr;
    Form form;
    if (request.method == "POST") {
        form = form_from_post(info, request,
                              adding ? std::nullopt : std::optional<std::int64_t>(*object->id),
                              database);
        if (form.valid()) {
            if (adding) {
                object = info.make();
            }
            if (save_form(form, *object, database)) {
                add_message(context, "The " + verbose(info.model_name) + " \u201c" +
                                         object_name(info, *object) + "\u201d was " +
                                         (adding ? "added" : "changed") + " successfully.");
                return redirect(model_url(info));
            }
            if (adding) {
                object.reset();
            }
        }
    } else {
        form = form_from_object(info, object.get(), database);
    }
    Html h;
    h << Raw("<h1>") << (adding ? "Add " : "Change ") << verbose(info.model_name) << Raw("</h1>");
    if (!adding) {
        h << Raw("<p>") << object_name(info, *object) << Raw("</p>");
    }
    h << Raw("<form method=\"post\" id=\"model-form\"");
    h.attr("action", adding ? model_url(info) + "add/"
                            : model_url(info) + std::to_string(*object->id) + "/change/")
        << Raw(">") << csrf_input(context)
        << render_form(form, database, context.settings->max_choices);
    h << Raw("<p><input type=\"submit\" value=\"Save\" id=\"save\">");
    if (!adding) {
        h << Raw(" <a class=\"deletelink\" id=\"delete-link\"");
        h.attr("href", model_url(info) + std::to_string(*object->id) + "/delete/")
            << Raw(">Delete</a>");
    }
    h << Raw("</p></form>");
    return page(context, (adding ? "Add " : "Change ") + info.model_name, h,
                request.method == "POST" ? 400 : 200);
}

Response delete_page(const Request& request, Context& context, const ModelInfo& info,
                     const std::shared_ptr<ModelBase>& object) {
    const std::string& database = context.settings->database;
    const std::string name = object_name(info, *object);
    const auto preview = preview_removal(*object, info, database);
    if (request.method == "POST" && preview.blocked.empty()) {
        try {
            static_cast<void>(tocsin::detail::remove_instance(*object, info, database));
            add_message(context, "The " + verbose(info.model_name) + " \u201c" + name +
                                     "\u201d was deleted successfully.");
            return redirect(model_url(info));
        } catch (const std::exception& e) {
            return error_page(context, 409, std::string("Could not delete: ") + e.what());
        }
    }
    Html h;
    h << Raw("<h1>Delete ") << verbose(info.model_name) << Raw("</h1>");
    const auto item = [&](const RemovalPreview::Object& o) {
        h << Raw("<li>") << verbose(o.model->model_name, true) << Raw(": <a");
        h.attr("href", model_url(*o.model) + std::to_string(o.id) + "/change/") << Raw(">");
        if (auto loaded = load_object(*o.model, o.id, database)) {
            h << object_name(*o.model, *loaded);
        } else {
            h << o.model->model_name << Raw(" #") << o.id;
        }
        h << Raw("</a></li>");
    };
    if (!preview.blocked.empty()) {
        h << Raw("<p id=\"delete-blocked\">Deleting the ") << verbose(info.model_name)
          << Raw(" \u201c") << name
          << Raw("\u201d would require deleting the following protected related objects:</p>"
                 "<ul id=\"protected-objects\">");
        for (const auto& o : preview.blocking) {
            item(o);
        }
        h << Raw("</ul><p class=\"errornote\">") << preview.blocked << Raw("</p>");
        return page(context, "Cannot delete " + info.model_name, h,
                    request.method == "POST" ? 409 : 200);
    }
    h << Raw("<p>Are you sure you want to delete the ") << verbose(info.model_name)
      << Raw(" \u201c") << name
      << Raw("\u201d? All of the following related items will be deleted:</p>"
             "<ul id=\"deleted-objects\">");
    for (const auto& o : preview.objects) {
        item(o);
    }
    h << Raw("</ul><h2>Summary</h2><ul id=\"deleted-summary\">");
    std::vector<std::pair<const ModelInfo*, std::size_t>> counts;
    for (const auto& o : preview.objects) {
        auto it = std::find_if(counts.begin(), counts.end(),
                               [&](const auto& c) { return c.first == o.model; });
        if (it == counts.end()) {
            counts.emplace_back(o.model, 1);
        } else {
            ++it->second;
        }
    }
    for (const auto& [model, count] : counts) {
        h << Raw("<li>") << verbose(model->model_name, true) << Raw(": ") << count << Raw("</li>");
    }
    h << Raw("</ul><form method=\"post\" id=\"delete-form\">") << csrf_input(context)
      << Raw("<input type=\"submit\" class=\"deletebutton\" value=\"Yes, I\u2019m sure\" "
             "id=\"confirm-delete\"> <a");
    h.attr("href", model_url(info) + std::to_string(*object->id) + "/change/")
        << Raw(">No, take me back</a></form>");
    return page(context, "Delete " + info.model_name, h);
}

}  // namespace

Response index_page(const Request&, Context& context) {
    Html h;
    h << Raw("<h1>Site administration</h1>");
    for (const auto& app : Apps::instance().app_configs()) {
        std::vector<const ModelInfo*> models;
        for (const ModelInfo* info : admin_models(*context.settings)) {
            if (info->app_label == app->label()) {
                models.push_back(info);
            }
        }
        if (models.empty()) {
            continue;
        }
        h << Raw("<table class=\"app\"><caption>") << verbose(app->label(), true)
          << Raw("</caption>");
        for (const ModelInfo* info : models) {
            h << Raw("<tr><th><a");
            h.attr("href", model_url(*info)).attr("id", "model-" + info->label())
                << Raw(">") << info->model_name << Raw("</a></th><td><a");
            h.attr("href", model_url(*info) + "add/") << Raw(">Add</a></td></tr>");
        }
        h << Raw("</table>");
    }
    return page(context, "Site administration", h);
}

Response model_page(const Request& request, Context& context, const ModelInfo& info,
                    std::string_view rest) {
    if (rest.empty()) {
        return list_page(request, context, info);
    }
    if (rest == "add/") {
        return form_page(request, context, info, nullptr);
    }
    const auto slash = rest.find('/');
    const auto id = parse_id(rest.substr(0, slash));
    const std::string_view action =
        slash == std::string_view::npos ? std::string_view{} : rest.substr(slash + 1);
    if (!id || (action != "change/" && action != "delete/")) {
        return error_page(context, 404, "Page not found.");
    }
    auto object = load_object(info, *id, context.settings->database);
    if (!object) {
        return error_page(context, 404,
                          info.model_name + " with ID \u201c" + std::to_string(*id) +
                              "\u201d doesn\u2019t exist. Perhaps it was deleted?");
    }
    if (action == "change/") {
        return form_page(request, context, info, std::move(object));
    }
    return delete_page(request, context, info, object);
}

}  // namespace tocsin::admin::detail
