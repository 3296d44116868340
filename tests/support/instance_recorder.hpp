// A send observer for tests: records each observed send as "signal instance" (SendEvent's signal
// name and the instance it was sent for, "" when none), from any thread.
#pragma once

#include <mutex>
#include <string>
#include <vector>

#include "tocsin/dispatch/profiler.hpp"

namespace tocsin::test {

/// Records each observed send as "signal instance", in the order they were made.
class InstanceRecorder : public SendObserver {
  public:
    void on_send(const SendEvent& e) noexcept override {
        const std::lock_guard lock(mutex);
        sends.push_back(std::string(e.signal_name) + " " + e.instance);
    }
    std::mutex mutex;
    std::vector<std::string> sends;
};

}  // namespace tocsin::test
