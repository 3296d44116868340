// Models whose descriptions are compiled once (TOCSIN_EXTERN_MODEL below), in
// extern_models.cpp (TOCSIN_INSTANTIATE_MODEL), as a user's models header and source would;
// extern_model_test.cpp uses them without compiling their descriptions.
//
//   extern_models.Shelf    name (unique), capacity
//   extern_models.Volume   shelf -> Shelf, CASCADE; title
//   extern_models.Annex    extends Shelf; floor
#pragma once

#include <string>
#include <string_view>

#include "tocsin/models.hpp"

namespace extern_models {

struct Shelf : tocsin::Model<Shelf> {
    static constexpr std::string_view label = "extern_models.Shelf";
    std::string name;
    int capacity = 10;

    static auto fields() {
        return tocsin::fields(tocsin::field("name", &Shelf::name, {.unique = true}),
                              tocsin::field("capacity", &Shelf::capacity));
    }
};

struct Volume : tocsin::Model<Volume> {
    static constexpr std::string_view label = "extern_models.Volume";
    tocsin::ForeignKey<Shelf> shelf{tocsin::on_delete::cascade};
    std::string title;

    static auto fields() {
        return tocsin::fields(tocsin::field("shelf", &Volume::shelf),
                              tocsin::field("title", &Volume::title));
    }
};

struct Annex : tocsin::Model<Annex, Shelf> {
    static constexpr std::string_view label = "extern_models.Annex";
    int floor = 0;

    static auto fields() { return tocsin::fields(tocsin::field("floor", &Annex::floor)); }
};

}  // namespace extern_models

TOCSIN_EXTERN_MODEL(extern_models::Shelf);
TOCSIN_EXTERN_MODEL(extern_models::Volume);
TOCSIN_EXTERN_MODEL(extern_models::Annex);
