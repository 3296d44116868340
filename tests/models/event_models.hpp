// Models extending other models (multi-table inheritance), after seed 004's "Inheriting Signals
// on Extended Models": Event (whose user is a library.Author), StatusChange(Event) and
// Comment(Event), Reply(Comment) a level below, Reaction referencing a Comment.
//
//   events.Event          user -> library.Author, CASCADE; kind
//   events.StatusChange   extends Event; status (unique)
//   events.Comment        extends Event; text
//   events.Reply          extends Comment; depth
//   events.Reaction       comment -> Comment, CASCADE; emoji
//   events.Ping           extends Event; no field of its own
#pragma once

#include <string>
#include <string_view>

#include "test_models.hpp"
#include "tocsin/models.hpp"

namespace events {

struct Event : tocsin::Model<Event> {
    static constexpr std::string_view label = "events.Event";
    tocsin::ForeignKey<library::Author> user{tocsin::on_delete::cascade};
    std::string kind;

    static auto fields() {
        return tocsin::fields(tocsin::field("user", &Event::user),
                              tocsin::field("kind", &Event::kind));
    }
};

struct StatusChange : tocsin::Model<StatusChange, Event> {
    static constexpr std::string_view label = "events.StatusChange";
    std::string status;

    static auto fields() {
        return tocsin::fields(tocsin::field("status", &StatusChange::status, {.unique = true}));
    }
};

struct Comment : tocsin::Model<Comment, Event> {
    static constexpr std::string_view label = "events.Comment";
    std::string text;

    static auto fields() { return tocsin::fields(tocsin::field("text", &Comment::text)); }
};

struct Reply : tocsin::Model<Reply, Comment> {
    static constexpr std::string_view label = "events.Reply";
    int depth = 1;

    static auto fields() { return tocsin::fields(tocsin::field("depth", &Reply::depth)); }
};

struct Reaction : tocsin::Model<Reaction> {
    static constexpr std::string_view label = "events.Reaction";
    tocsin::ForeignKey<Comment> comment{tocsin::on_delete::cascade};
    std::string emoji;

    static auto fields() {
        return tocsin::fields(tocsin::field("comment", &Reaction::comment),
                              tocsin::field("emoji", &Reaction::emoji));
    }
};

struct Ping : tocsin::Model<Ping, Event> {
    static constexpr std::string_view label = "events.Ping";

    static auto fields() { return tocsin::fields(); }
};

/// Builds the descriptions of the models above (after the shared test models).
inline void build_event_models() {
    tocsin::test::build_test_models();
    static_cast<void>(Event::info());
    static_cast<void>(StatusChange::info());
    static_cast<void>(Comment::info());
    static_cast<void>(Reply::info());
    static_cast<void>(Reaction::info());
    static_cast<void>(Ping::info());
}

}  // namespace events
