// Changed fields: snapshots of saved values and what SaveEvent tells about them.
#include "tocsin/models/changes.hpp"

#include "tocsin/models/model.hpp"

namespace tocsin {

namespace detail {

std::shared_ptr<const FieldSnapshot> take_snapshot(const ModelBase& instance,
                                                   const ModelInfo& model) {
    auto snapshot = std::make_shared<FieldSnapshot>();
    snapshot->model = &model;
    snapshot->values.reserve(model.all_fields.size());
    for (const FieldInfo* f : model.all_fields) {
        snapshot->values.push_back(f->get(instance));
    }
    return snapshot;
}

namespace {

const SaveChanges& tracking_of(const SaveEvent& event) {
    if (event.tracking == nullptr) {
        throw ModelError(
            "SaveEvent::changes(): the changed fields of this model are not tracked; connect a "
            "receiver with tocsin::track_changes (post_save.connect<Model>(tocsin::track_changes, "
            "receiver))");
    }
    return *event.tracking;
}

/// The index of `field` in the model's all_fields; ModelError naming the model when unknown.
std::size_t index_of(const SaveChanges& t, std::string_view field) {
    const auto& fields = t.model->all_fields;
    for (std::size_t i = 0; i < fields.size(); ++i) {
        if (fields[i]->name == field) {
            return i;
        }
    }
    throw ModelError(t.model->label() + " has no field named '" + std::string(field) + "'");
}

/// The change of field `i`, if the save writes it and it changed.
std::optional<FieldChange> change_of(const SaveChanges& t, std::size_t i) {
    const FieldInfo& f = *t.model->all_fields[i];
    if (*t.update_fields && (*t.update_fields)->count(f.name) == 0) {
        return std::nullopt;
    }
    db::Value current = f.get(*t.instance);
    if (t.before == nullptr) {
        return FieldChange{f.name, std::nullopt, std::move(current)};
    }
    if (t.before->values[i] == current) {
        return std::nullopt;
    }
    return FieldChange{f.name, t.before->values[i], std::move(current)};
}

}  // namespace
}  // namespace detail

FieldChanges SaveEvent::changes() const {
    const auto& t = detail::tracking_of(*this);
    FieldChanges out;
    for (std::size_t i = 0; i < t.model->all_fields.size(); ++i) {
        if (auto c = detail::change_of(t, i)) {
            out.push_back(std::move(*c));
        }
    }
    return out;
}

bool SaveEvent::has_changed(std::string_view field) const {
    const auto& t = detail::tracking_of(*this);
    return detail::change_of(t, detail::index_of(t, field)).has_value();
}

std::optional<db::Value> SaveEvent::previous(std::string_view field) const {
    const auto& t = detail::tracking_of(*this);
    const std::size_t i = detail::index_of(t, field);
    if (t.before == nullptr) {
        return std::nullopt;
    }
    return t.before->values[i];
}

}  // namespace tocsin
