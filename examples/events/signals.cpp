// events/signals.cpp — seed 004's receivers.
#include "signals.hpp"

#include <iostream>
#include <string>

#include "models.hpp"

namespace events {

namespace {

/// "Comment 3": the model name of a model sender and the instance's id.
std::string describe(const tocsin::Sender& sender, const tocsin::ModelBase& instance) {
    const tocsin::ModelInfo* model = tocsin::find_model_info(sender);
    return (model != nullptr ? model->model_name : sender.name()) + " " +
           (instance.id ? std::to_string(*instance.id) : "None");
}

}  // namespace

/// Tells an insert from an update before the write (Django: `instance._state.adding`).
void pre_save_user(auth::User& user, const tocsin::SaveEvent& /*event*/) {
    std::cout << (user.state().adding ? "this is an insert" : "this is an update") << " ("
              << user.username << ")\n";
}

/// Connected once for Event, heard for StatusChange and Comment too (with_subclasses); a raw
/// save (a fixture being loaded) must not touch other rows or notify anyone.
void send_activity_notification(const tocsin::Sender& sender, Event& event,
                                const tocsin::SaveEvent& e) {
    if (e.raw) {
        std::cout << "raw save of " << describe(sender, event) << ": no notification\n";
        return;
    }
    std::cout << "notify " << event.user.get().username << ": " << describe(sender, event)
              << (e.created ? " created" : " updated") << "\n";
}

/// What a comment's edit changed (changed fields, asked for with track_changes).
void log_comment_edit(Comment& comment, const tocsin::SaveEvent& e) {
    if (e.created || e.raw) {
        return;
    }
    for (const tocsin::FieldChange& change : e.changes()) {
        std::cout << "comment " << *comment.id << " " << change.field << ": '"
                  << (change.previous ? change.previous->as_text() : std::string("?")) << "' -> '"
                  << change.current.as_text() << "'\n";
    }
}

/// Runs once the comment is committed (a search index must not see rolled-back rows).
void index_comment(Comment& comment, const tocsin::SaveEvent& /*event*/) {
    std::cout << "indexed comment " << *comment.id << " after commit: '" << comment.text << "'\n";
}

void connect_receivers() {
    tocsin::pre_save.connect<auth::User>(&pre_save_user);
    tocsin::post_save.connect<Event>(tocsin::with_subclasses, &send_activity_notification);
    tocsin::post_save.connect<Comment>(tocsin::track_changes, &log_comment_edit);
    tocsin::post_save.connect<Comment>(&index_comment,
                                       {.dispatch_uid = "events.index_comment", .on_commit = true});
}

}  // namespace events
