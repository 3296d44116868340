// The models of the many-processes test (multiprocess_test.cpp) and of its worker program
// (worker.cpp), and the workload both sides agree on.
//
//   mp.Parent    name (unique), worker
//   mp.Child     parent -> Parent, CASCADE; n
//   mp.Counter   name (unique), value: incremented under select_for_update()
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "tocsin/models.hpp"

namespace mp {

/// Every Parent is written with exactly this many children, in one transaction.
inline constexpr int children_per_parent = 3;
/// The counters the workers increment ("c0" .. "c3").
inline constexpr int counters = 4;

struct Parent : tocsin::Model<Parent> {
    static constexpr std::string_view label = "mp.Parent";
    std::string name;
    int worker = 0;

    static auto fields() {
        return tocsin::fields(tocsin::field("name", &Parent::name, {.unique = true}),
                              tocsin::field("worker", &Parent::worker));
    }
};

struct Child : tocsin::Model<Child> {
    static constexpr std::string_view label = "mp.Child";
    tocsin::ForeignKey<Parent> parent{tocsin::on_delete::cascade};
    int n = 0;

    static auto fields() {
        return tocsin::fields(tocsin::field("parent", &Child::parent),
                              tocsin::field("n", &Child::n));
    }
};

struct Counter : tocsin::Model<Counter> {
    static constexpr std::string_view label = "mp.Counter";
    std::string name;
    std::int64_t value = 0;

    static auto fields() {
        return tocsin::fields(tocsin::field("name", &Counter::name, {.unique = true}),
                              tocsin::field("value", &Counter::value));
    }
};

inline void build_models() {
    static_cast<void>(Parent::info());
    static_cast<void>(Child::info());
    static_cast<void>(Counter::info());
}

}  // namespace mp
