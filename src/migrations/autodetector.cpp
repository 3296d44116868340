#include "tocsin/migrations/autodetector.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <set>
#include <stdexcept>

namespace tocsin::migrations {

namespace {

/// The labels of the models `model` needs to exist before its table: relation targets and the
/// model it extends.
std::vector<std::string> needs(const ModelState& model) {
    std::vector<std::string> out;
    if (!model.parent.empty()) {
        out.push_back(state_key(model.parent));
    }
    for (const auto& f : model.fields) {
        if (!f.to.empty()) {
            out.push_back(state_key(f.to));
        }
    }
    return out;
}

/// Django's suggest_name, by its rules: "initial", one fragment, or fragments joined while they
/// fit, else "auto_<timestamp>".
std::string suggest_name(const Migration& m) {
    if (m.initial) {
        return "initial";
    }
    if (m.operations.empty()) {
        return "auto";
    }
    std::string name = name_fragment(m.operations.front());
    for (std::size_t i = 1; i < m.operations.size(); ++i) {
        const std::string longer = name + "_" + name_fragment(m.operations[i]);
        if (longer.size() > 52) {
            return name + "_and_more";
        }
        name = longer;
    }
    return name;
}

std::string number_after(const std::string& leaf) {
    int n = 0;
    std::size_t i = 0;
    while (i < leaf.size() && leaf[i] >= '0' && leaf[i] <= '9') {
        n = n * 10 + (leaf[i] - '0');
        ++i;
    }
    char buffer[16];
    std::snprintf(buffer, sizeof buffer, "%04d", n + 1);
    return buffer;
}

}  // namespace

std::vector<Migration> detect_changes(const ProjectState& from_state, const ProjectState& to,
                                      const AutodetectorOptions& options) {
    ProjectState from = from_state;
    std::set<std::string> apps;
    for (const auto& [key, m] : to.models) {
        apps.insert(m.app_label);
    }
    for (const auto& [key, m] : from.models) {
        apps.insert(m.app_label);
    }
    if (!options.apps.empty()) {
        apps = std::set<std::string>(options.apps.begin(), options.apps.end());
    }

    // The operations of each app, by kind, in the order they go into the migration.
    std::map<std::string, std::vector<Operation>> ops;
    std::map<std::string, std::set<std::string>> refers;  // app -> labels its new ops refer to
    for (const auto& app : apps) {
        std::vector<Operation> renames, removals, creates, alters, adds, late_adds, deletes;
        // Renames asked for, applied to `from` so that the rest compares renamed fields.
        for (const auto& r : options.renames) {
            auto* model = from.find(r.model);
            if (model == nullptr || model->app_label != app) {
                if (model == nullptr && to.find(r.model) == nullptr) {
                    throw std::invalid_argument("rename " + r.model + "." + r.old_name + "=" +
                                                r.new_name + ": no model " + r.model);
                }
                continue;
            }
            const auto* target = to.find(r.model);
            if (model->field(r.old_name) == nullptr || target == nullptr ||
                target->field(r.new_name) == nullptr || target->field(r.old_name) != nullptr) {
                throw std::invalid_argument(
                    "rename " + r.model + "." + r.old_name + "=" + r.new_name + ": " + r.model +
                    " must have the field '" + r.old_name + "' in its migrations and the field '" +
                    r.new_name + "' (and no '" + r.old_name + "') in its models");
            }
            renames.push_back(RenameField{model->name, r.old_name, r.new_name});
            apply(renames.back(), app, from);
        }
        // Models in both: fields, indexes, constraints.
        for (const ModelState* after : to.app_models(app)) {
            const ModelState* before = from.find(after->label());
            if (before == nullptr) {
                continue;
            }
            for (const auto& i : before->indexes) {
                const auto same = std::find(after->indexes.begin(), after->indexes.end(), i);
                if (same == after->indexes.end()) {
                    removals.push_back(RemoveIndex{after->name, i.name});
                }
            }
            for (const auto& c : before->constraints) {
                if (std::find(after->constraints.begin(), after->constraints.end(), c) ==
                    after->constraints.end()) {
                    removals.push_back(RemoveConstraint{after->name, c.name});
                }
            }
            for (const auto& f : before->fields) {
                if (after->field(f.name) == nullptr) {
                    removals.push_back(RemoveField{after->name, f.name});
                }
            }
            for (const auto& f : after->fields) {
                const FieldState* old = before->field(f.name);
                if (old == nullptr) {
                    adds.push_back(AddField{after->name, f});
                } else if (!(*old == f)) {
                    alters.push_back(AlterField{after->name, f});
                }
                if (!f.to.empty() && (old == nullptr || old->to != f.to)) {
                    refers[app].insert(state_key(f.to));
                }
            }
            for (const auto& i : after->indexes) {
                if (std::find(before->indexes.begin(), before->indexes.end(), i) ==
                    before->indexes.end()) {
                    late_adds.push_back(AddIndex{after->name, i});
                }
            }
            for (const auto& c : after->constraints) {
                if (std::find(before->constraints.begin(), before->constraints.end(), c) ==
                    before->constraints.end()) {
                    late_adds.push_back(AddConstraint{after->name, c});
                }
            }
        }
        // New models: every model a new one needs comes first; a cycle is broken by adding the
        // keys that close it after the tables exist.
        std::vector<ModelState> pending;
        for (const ModelState* after : to.app_models(app)) {
            if (from.find(after->label()) == nullptr) {
                pending.push_back(*after);
                for (const auto& n : needs(*after)) {
                    refers[app].insert(n);
                }
            }
        }
        std::stable_sort(pending.begin(), pending.end(),
                         [](const ModelState& a, const ModelState& b) {
                             return !a.auto_created && b.auto_created;
                         });
        std::vector<AddField> deferred;
        while (!pending.empty()) {
            const auto waiting = [&](const std::string& label, const ModelState& self) {
                return label != state_key(self.label()) &&
                       std::any_of(pending.begin(), pending.end(), [&](const ModelState& p) {
                           return state_key(p.label()) == label;
                       });
            };
            auto next = std::find_if(pending.begin(), pending.end(), [&](const ModelState& m) {
                const auto n = needs(m);
                return std::none_of(n.begin(), n.end(),
                                    [&](const std::string& l) { return waiting(l, m); });
            });
            if (next == pending.end()) {
                next = pending.begin();
                auto& fields = next->fields;
                for (auto it = fields.begin(); it != fields.end();) {
                    if (!it->to.empty() && waiting(state_key(it->to), *next)) {
                        deferred.push_back(AddField{next->name, *it});
                        it = fields.erase(it);
                    } else {
                        ++it;
                    }
                }
            }
            creates.push_back(CreateModel{*next});
            pending.erase(next);
        }
        for (auto& a : deferred) {
            creates.emplace_back(std::move(a));
        }
        // Deleted models: those referring to others go first, through tables before all.
        std::vector<ModelState> gone;
        for (const ModelState* before : from.app_models(app)) {
            if (to.find(before->label()) == nullptr) {
                gone.push_back(*before);
            }
        }
        while (!gone.empty()) {
            auto next = std::find_if(gone.begin(), gone.end(), [&](const ModelState& m) {
                return std::none_of(gone.begin(), gone.end(), [&](const ModelState& other) {
                    if (&other == &m) {
                        return false;
                    }
                    const auto n = needs(other);
                    return std::find(n.begin(), n.end(), state_key(m.label())) != n.end();
                });
            });
            if (next == gone.end()) {
                next = gone.begin();
            }
            deletes.push_back(DeleteModel{next->name});
            gone.erase(next);
        }
        auto& list = ops[app];
        for (auto* part : {&renames, &removals, &creates, &alters, &adds, &late_adds, &deletes}) {
            for (auto& op : *part) {
                list.push_back(std::move(op));
            }
        }
        if (list.empty()) {
            ops.erase(app);
        }
    }

    // One migration per changed app; names first, so that dependencies can name them.
    std::map<std::string, Migration> made;
    for (auto& [app, list] : ops) {
        Migration m;
        m.app = app;
        const auto leaf = options.leaves.find(app);
        m.initial = leaf == options.leaves.end();
        if (!m.initial) {
            m.dependencies.emplace_back(app, leaf->second);
        }
        m.operations = std::move(list);
        m.name = (m.initial ? std::string("0001") : number_after(leaf->second)) + "_" +
                 (options.name.empty() ? suggest_name(m) : options.name);
        made[app] = std::move(m);
    }
    for (auto& [app, m] : made) {
        std::set<std::string> other_apps;
        for (const auto& label : refers[app]) {
            const auto* target = to.find(label);
            if (target != nullptr && target->app_label != app) {
                other_apps.insert(target->app_label);
            }
        }
        for (const auto& other : other_apps) {
            if (const auto it = made.find(other); it != made.end()) {
                m.dependencies.emplace_back(other, it->second.name);
            } else if (const auto leaf = options.leaves.find(other); leaf != options.leaves.end()) {
                m.dependencies.emplace_back(other, leaf->second);
            }
        }
    }
    std::vector<Migration> out;
    for (auto& [app, m] : made) {
        out.push_back(std::move(m));
    }
    return out;
}

}  // namespace tocsin::migrations
