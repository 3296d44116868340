// tocsin::migrations::ProjectState — the models as data (Django's ProjectState / ModelState):
// what the compiled models say (from_models()), or what a list of migrations adds up to (each
// operation's apply()). The autodetector compares two of them; the schema editor reads them.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tocsin/db/value.hpp"
#include "tocsin/models/related.hpp"

namespace tocsin::migrations {

/// One column of a model (a field; relations are their key column).
struct FieldState {
    std::string name;    ///< the field name ("author")
    std::string column;  ///< the column ("author_id")
    db::LogicalType type = db::LogicalType::text;
    bool null = false;        ///< NULL allowed
    bool unique = false;      ///< a UNIQUE column
    bool db_index = false;    ///< an index was asked for (relations that are not unique get one)
    db::Value default_value;  ///< what rows that exist get when the column is added (NULL: none)
    /// For a relation: the label of the referenced model ("auth.User"); empty otherwise.
    std::string to;
    OnDelete on_delete = OnDelete::do_nothing;  ///< for a relation (state only: no SQL)
    bool one_to_one = false;                    ///< for a relation (also unique)

    /// True when the column has an index of its own ("<table>_<column>_idx").
    [[nodiscard]] bool indexed() const noexcept { return db_index || (!to.empty() && !unique); }
    bool operator==(const FieldState&) const = default;
};

/// A named index or unique constraint over fields (by field name).
struct IndexState {
    std::string name;
    std::vector<std::string> fields;
    bool operator==(const IndexState&) const = default;
};

/// One model with a table.
struct ModelState {
    std::string app_label;  ///< "blog"
    std::string name;       ///< "Post" (the model name as declared)
    std::string table;      ///< "blog_post"
    /// The primary key column: "id", or for a model extending another "<parent>_ptr_id".
    std::string pk_column = "id";
    std::string parent;  ///< the label of the model extended (multi-table inheritance), or ""
    std::vector<FieldState> fields;
    std::vector<std::vector<std::string>> unique_together;  ///< by column (through tables)
    std::vector<IndexState> indexes;
    std::vector<IndexState> constraints;  ///< unique constraints
    bool auto_created = false;            ///< a many-to-many through table tocsin made itself

    /// "app_label.Name".
    [[nodiscard]] std::string label() const { return app_label + "." + name; }
    /// The field named `name`, or null.
    [[nodiscard]] const FieldState* field(std::string_view field_name) const noexcept;
    [[nodiscard]] FieldState* field(std::string_view field_name) noexcept;
    bool operator==(const ModelState&) const = default;
};

/// Every model with a table, keyed by its lower-case label ("blog.post").
struct ProjectState {
    std::map<std::string, ModelState> models;

    /// The model labelled `label` (case-insensitive), or null.
    [[nodiscard]] const ModelState* find(std::string_view label) const;
    [[nodiscard]] ModelState* find(std::string_view label);
    /// The model labelled `label`; std::invalid_argument naming it when there is none.
    [[nodiscard]] const ModelState& get(std::string_view label) const;
    [[nodiscard]] ModelState& get(std::string_view label);
    /// The models of `app_label`, in label order.
    [[nodiscard]] std::vector<const ModelState*> app_models(std::string_view app_label) const;
    bool operator==(const ProjectState&) const = default;

    /// The state of the compiled models: every model built so far but proxies, with the through
    /// table of each many-to-many relation; only the apps in `app_labels` when not empty.
    [[nodiscard]] static ProjectState from_models(const std::vector<std::string>& app_labels = {});
};

/// "blog.post" from "blog.Post".
[[nodiscard]] std::string state_key(std::string_view label);

}  // namespace tocsin::migrations
