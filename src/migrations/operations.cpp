#include "tocsin/migrations/operations.hpp"

#include <algorithm>
#include <stdexcept>

namespace tocsin::migrations {

namespace {
template <class... F>
struct overloaded : F... {
    using F::operator()...;
};
template <class... F>
overloaded(F...) -> overloaded<F...>;

std::string lower(std::string_view s) {
    return state_key(s);
}

ModelState& model_of(ProjectState& state, const std::string& app, const std::string& model,
                     const std::string& op) {
    auto* m = state.find(app + "." + model);
    if (m == nullptr) {
        throw std::invalid_argument(op + ": no model '" + app + "." + model +
                                    "' in the state before it");
    }
    return *m;
}

void refuse_missing_field(const ModelState& m, const std::string& name, const std::string& op) {
    if (m.field(name) == nullptr) {
        throw std::invalid_argument(op + ": " + m.label() + " has no field '" + name + "'");
    }
}
}  // namespace

std::string operation_name(const Operation& op) {
    return std::visit(overloaded{
                          [](const CreateModel&) { return std::string("CreateModel"); },
                          [](const DeleteModel&) { return std::string("DeleteModel"); },
                          [](const AddField&) { return std::string("AddField"); },
                          [](const RemoveField&) { return std::string("RemoveField"); },
                          [](const AlterField&) { return std::string("AlterField"); },
                          [](const RenameField&) { return std::string("RenameField"); },
                          [](const AddIndex&) { return std::string("AddIndex"); },
                          [](const RemoveIndex&) { return std::string("RemoveIndex"); },
                          [](const AddConstraint&) { return std::string("AddConstraint"); },
                          [](const RemoveConstraint&) { return std::string("RemoveConstraint"); },
                          [](const RunPython&) { return std::string("RunPython"); },
                      },
                      op);
}

std::string describe(const Operation& op) {
    return std::visit(
        overloaded{
            [](const CreateModel& o) { return "Create model " + o.model.name; },
            [](const DeleteModel& o) { return "Delete model " + o.model; },
            [](const AddField& o) { return "Add field " + o.field.name + " to " + lower(o.model); },
            [](const RemoveField& o) {
                return "Remove field " + o.name + " from " + lower(o.model);
            },
            [](const AlterField& o) {
                return "Alter field " + o.field.name + " on " + lower(o.model);
            },
            [](const RenameField& o) {
                return "Rename field " + o.old_name + " on " + lower(o.model) + " to " + o.new_name;
            },
            [](const AddIndex& o) {
                return "Create index " + o.index.name + " on " + lower(o.model);
            },
            [](const RemoveIndex& o) {
                return "Remove index " + o.name + " from " + lower(o.model);
            },
            [](const AddConstraint& o) {
                return "Create constraint " + o.constraint.name + " on model " + lower(o.model);
            },
            [](const RemoveConstraint& o) {
                return "Remove constraint " + o.name + " from model " + lower(o.model);
            },
            [](const RunPython& o) { return "Raw C++ operation " + o.code; },
        },
        op);
}

std::string name_fragment(const Operation& op) {
    return std::visit(
        overloaded{
            [](const CreateModel& o) { return lower(o.model.name); },
            [](const DeleteModel& o) { return "delete_" + lower(o.model); },
            [](const AddField& o) { return lower(o.model) + "_" + lower(o.field.name); },
            [](const RemoveField& o) { return "remove_" + lower(o.model) + "_" + lower(o.name); },
            [](const AlterField& o) {
                return "alter_" + lower(o.model) + "_" + lower(o.field.name);
            },
            [](const RenameField& o) {
                return "rename_" + lower(o.old_name) + "_" + lower(o.model) + "_" +
                       lower(o.new_name);
            },
            [](const AddIndex& o) { return lower(o.model) + "_" + lower(o.index.name); },
            [](const RemoveIndex& o) { return "remove_" + lower(o.model) + "_" + lower(o.name); },
            [](const AddConstraint& o) { return lower(o.model) + "_" + lower(o.constraint.name); },
            [](const RemoveConstraint& o) {
                return "remove_" + lower(o.model) + "_" + lower(o.name);
            },
            [](const RunPython& o) { return lower(o.code); },
        },
        op);
}

void apply(const Operation& op, const std::string& app, ProjectState& state) {
    std::visit(
        overloaded{
            [&](const CreateModel& o) {
                if (state.find(o.model.label()) != nullptr) {
                    throw std::invalid_argument("CreateModel: the model '" + o.model.label() +
                                                "' exists already in the state before it");
                }
                state.models[state_key(o.model.label())] = o.model;
            },
            [&](const DeleteModel& o) {
                model_of(state, app, o.model, "DeleteModel");
                state.models.erase(state_key(app + "." + o.model));
            },
            [&](const AddField& o) {
                auto& m = model_of(state, app, o.model, "AddField");
                if (m.field(o.field.name) != nullptr) {
                    throw std::invalid_argument("AddField: " + m.label() + " has a field '" +
                                                o.field.name + "' already");
                }
                m.fields.push_back(o.field);
            },
            [&](const RemoveField& o) {
                auto& m = model_of(state, app, o.model, "RemoveField");
                refuse_missing_field(m, o.name, "RemoveField");
                std::erase_if(m.fields, [&](const FieldState& f) { return f.name == o.name; });
            },
            [&](const AlterField& o) {
                auto& m = model_of(state, app, o.model, "AlterField");
                refuse_missing_field(m, o.field.name, "AlterField");
                *m.field(o.field.name) = o.field;
            },
            [&](const RenameField& o) {
                auto& m = model_of(state, app, o.model, "RenameField");
                refuse_missing_field(m, o.old_name, "RenameField");
                if (m.field(o.new_name) != nullptr) {
                    throw std::invalid_argument("RenameField: " + m.label() + " has a field '" +
                                                o.new_name + "' already");
                }
                auto* f = m.field(o.old_name);
                // A column that followed the name follows it again (Django's get_attname_column).
                if (f->column == f->name) {
                    f->column = o.new_name;
                } else if (!f->to.empty() && f->column == f->name + "_id") {
                    f->column = o.new_name + "_id";
                }
                for (auto* list : {&m.indexes, &m.constraints}) {
                    for (auto& i : *list) {
                        std::replace(i.fields.begin(), i.fields.end(), o.old_name, o.new_name);
                    }
                }
                f->name = o.new_name;
            },
            [&](const AddIndex& o) {
                auto& m = model_of(state, app, o.model, "AddIndex");
                m.indexes.push_back(o.index);
            },
            [&](const RemoveIndex& o) {
                auto& m = model_of(state, app, o.model, "RemoveIndex");
                std::erase_if(m.indexes, [&](const IndexState& i) { return i.name == o.name; });
            },
            [&](const AddConstraint& o) {
                auto& m = model_of(state, app, o.model, "AddConstraint");
                m.constraints.push_back(o.constraint);
            },
            [&](const RemoveConstraint& o) {
                auto& m = model_of(state, app, o.model, "RemoveConstraint");
                std::erase_if(m.constraints, [&](const IndexState& i) { return i.name == o.name; });
            },
            [&](const RunPython&) {},
        },
        op);
}

}  // namespace tocsin::migrations
