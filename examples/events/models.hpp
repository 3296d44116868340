// events/models.hpp — seed 004: users (tocsin's auth app), and an Event model extended by
// StatusChange and Comment (Django's multi-table inheritance: `class Comment(Event)`).
#pragma once

#include <string>
#include <string_view>
#include <tocsin/auth.hpp>
#include <tocsin/models.hpp>

namespace auth {
/// A user: Django's auth.User, from tocsin's auth app.
using User = tocsin::auth::User;
}  // namespace auth

namespace events {
/// Something a user did; the base of every kind of activity.
struct Event : tocsin::Model<Event> {
    static constexpr std::string_view label = "events.Event";
    tocsin::ForeignKey<auth::User> user{tocsin::on_delete::cascade};
    static auto fields() { return tocsin::fields(tocsin::field("user", &Event::user)); }
};

/// A user's new status: an Event.
struct StatusChange : tocsin::Model<StatusChange, Event> {
    static constexpr std::string_view label = "events.StatusChange";
    std::string status;
    static auto fields() { return tocsin::fields(tocsin::field("status", &StatusChange::status)); }
};

/// A user's comment: an Event.
struct Comment : tocsin::Model<Comment, Event> {
    static constexpr std::string_view label = "events.Comment";
    std::string text;
    static auto fields() { return tocsin::fields(tocsin::field("text", &Comment::text)); }
};
}  // namespace events

// Each model's description is compiled once, in apps.cpp, not in every file using the models
// (TOCSIN_EXTERN_MODEL: compile time only).
TOCSIN_EXTERN_MODEL(events::Event);
TOCSIN_EXTERN_MODEL(events::StatusChange);
TOCSIN_EXTERN_MODEL(events::Comment);
