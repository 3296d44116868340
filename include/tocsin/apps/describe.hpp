// tocsin::apps::describe_sender — how tocsin's tools name a sender.
#pragma once

#include <string>

#include "tocsin/dispatch/sender.hpp"

namespace tocsin::apps {

/// The name tocsin's tools give `sender` (`manage receivers`, the admin's receivers page and
/// signal graph): "(any)" for no sender (a receiver of every sender), the label of a model the
/// app registry knows ("auth.User"), "app:<label>" for an installed app's config (the sender of
/// pre_migrate / post_migrate), else Sender::name() (a type's or an object's name).
[[nodiscard]] std::string describe_sender(const Sender& sender);

}  // namespace tocsin::apps
