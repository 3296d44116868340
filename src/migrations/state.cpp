#include "tocsin/migrations/state.hpp"

#include <algorithm>
#include <cctype>
#include <stdexcept>

#include "tocsin/models/model_info.hpp"
#include "tocsin/models/schema.hpp"

namespace tocsin::migrations {

std::string state_key(std::string_view label) {
    std::string key(label);
    for (char& c : key) {
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    return key;
}

const FieldState* ModelState::field(std::string_view field_name) const noexcept {
    for (const auto& f : fields) {
        if (f.name == field_name) {
            return &f;
        }
    }
    return nullptr;
}

FieldState* ModelState::field(std::string_view field_name) noexcept {
    for (auto& f : fields) {
        if (f.name == field_name) {
            return &f;
        }
    }
    return nullptr;
}

const ModelState* ProjectState::find(std::string_view label) const {
    const auto it = models.find(state_key(label));
    return it == models.end() ? nullptr : &it->second;
}

ModelState* ProjectState::find(std::string_view label) {
    const auto it = models.find(state_key(label));
    return it == models.end() ? nullptr : &it->second;
}

const ModelState& ProjectState::get(std::string_view label) const {
    if (const auto* m = find(label)) {
        return *m;
    }
    throw std::invalid_argument("no model '" + std::string(label) + "' in the migration state");
}

ModelState& ProjectState::get(std::string_view label) {
    if (auto* m = find(label)) {
        return *m;
    }
    throw std::invalid_argument("no model '" + std::string(label) + "' in the migration state");
}

std::vector<const ModelState*> ProjectState::app_models(std::string_view app_label) const {
    std::vector<const ModelState*> out;
    for (const auto& [key, model] : models) {
        if (model.app_label == app_label) {
            out.push_back(&model);
        }
    }
    return out;
}

namespace {
FieldState field_state(const FieldInfo& f) {
    FieldState s;
    s.name = f.name;
    s.column = f.column;
    s.type = f.type;
    s.null = f.nullable;
    s.unique = f.unique;
    s.db_index = f.db_index;
    s.default_value = f.default_value;
    if (f.is_relation) {
        s.to = f.target().label();
        s.on_delete = f.on_delete;
        s.one_to_one = f.one_to_one;
    }
    return s;
}

std::vector<IndexState> index_states(const auto& list) {
    std::vector<IndexState> out;
    for (const auto& i : list) {
        out.push_back({i.name, i.fields});
    }
    return out;
}
}  // namespace

ProjectState ProjectState::from_models(const std::vector<std::string>& app_labels) {
    ProjectState state;
    // migration_plan(): every model with a table (no proxies), with the through tables.
    for (const ModelInfo* m : migration_plan()) {
        if (!app_labels.empty() &&
            std::find(app_labels.begin(), app_labels.end(), m->app_label) == app_labels.end()) {
            continue;
        }
        ModelState s;
        s.app_label = m->app_label;
        s.name = m->model_name;
        s.table = m->table;
        s.pk_column = m->pk_column;
        if (m->parent != nullptr) {
            s.parent = m->parent->label();
        }
        for (const auto& f : m->fields) {
            s.fields.push_back(field_state(f));
        }
        s.unique_together = m->unique_together;
        s.indexes = index_states(m->indexes);
        s.constraints = index_states(m->constraints);
        s.auto_created = m->auto_created;
        state.models[state_key(s.label())] = std::move(s);
    }
    return state;
}

}  // namespace tocsin::migrations
