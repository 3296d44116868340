// The signals panel's observer of the sends (see monitor.hpp).
#include "monitor.hpp"

#include <cstdio>

#include "tocsin/admin/html.hpp"

namespace tocsin::admin::detail {

std::string json_string(std::string_view text) {
    std::string out = "\"";
    for (const char c : text) {
        switch (c) {
            case '"':
                out += "\\\"";
                break;
            case '\\':
                out += "\\\\";
                break;
            case '\n':
                out += "\\n";
                break;
            case '\r':
                out += "\\r";
                break;
            case '\t':
                out += "\\t";
                break;
            case '<':
                out += "\\u003c";  // never "</script>" in a JSON text
                break;
            default:
                if (static_cast<unsigned char>(c) < 0x20) {
                    char buffer[8];
                    std::snprintf(buffer, sizeof buffer, "\\u%04x",
                                  static_cast<unsigned>(static_cast<unsigned char>(c)));
                    out += buffer;
                } else {
                    out += c;
                }
        }
    }
    out += '"';
    return out;
}

namespace {
/// Valid UTF-8 for JSON: escape() replaces bad bytes by U+FFFD; its entities are undone here.
std::string clean(std::string_view text) {
    std::string escaped = escape(text);
    std::string out;
    for (std::size_t i = 0; i < escaped.size(); ++i) {
        if (escaped[i] != '&') {
            out += escaped[i];
            continue;
        }
        const auto semi = escaped.find(';', i);
        const auto entity = escaped.substr(i, semi - i + 1);
        out += entity == "&amp;"    ? "&"
               : entity == "&lt;"   ? "<"
               : entity == "&gt;"   ? ">"
               : entity == "&quot;" ? "\""
                                    : "'";
        i = semi;
    }
    return out;
}

std::int64_t micros(std::chrono::nanoseconds d) {
    return std::chrono::duration_cast<std::chrono::microseconds>(d).count();
}
}  // namespace

SignalMonitor::SignalMonitor(std::shared_ptr<SendObserver> next)
    : next_(std::move(next)), stats_(std::make_shared<ReceiverStats>()) {}

SignalMonitor::~SignalMonitor() = default;

void SignalMonitor::on_send(const SendEvent& event) noexcept {
    if (next_) {
        next_->on_send(event);
    }
    try {
        std::lock_guard lock(mutex_);
        open_[event.send_id] =
            Open{std::string(event.signal_name), event.sender, event.instance, event.start, {}};
    } catch (...) {  // out of memory: the panel misses this send
    }
}

void SignalMonitor::on_receiver(const ReceiverEvent& event) noexcept {
    if (next_) {
        next_->on_receiver(event);
    }
    stats_->on_receiver(event);
    try {
        Receiver r{event.receiver, event.duration, event.ok, event.deferred_to_commit, event.error};
        std::unique_lock lock(mutex_);
        const auto it = open_.find(event.send_id);
        if (it != open_.end()) {
            if (r.deferred) {
                deferred_[event.send_id] = Subject{it->second.sender, it->second.instance};
                while (deferred_.size() > capacity) {
                    deferred_.erase(deferred_.begin());  // the oldest send (ids grow)
                }
            }
            it->second.receivers.push_back(std::move(r));
            return;
        }
        Subject subject;
        if (const auto d = deferred_.find(event.send_id); d != deferred_.end()) {
            subject = d->second;
        }
        lock.unlock();
        // A commit-time receiver run after its send returned: an entry of its own, with the
        // sender and instance of the send that deferred it.
        std::string json =
            "{\"send_id\":" + std::to_string(event.send_id) +
            ",\"signal\":" + json_string(clean(event.signal_name)) +
            ",\"sender\":" + json_string(clean(subject.sender)) +
            ",\"instance\":" + json_string(clean(subject.instance)) +
            ",\"after_commit\":true,\"total_us\":" + std::to_string(micros(event.duration)) +
            ",\"receivers\":[{\"name\":" + json_string(clean(r.name)) + ",\"outcome\":\"" +
            (r.ok ? "ok" : "error") + "\",\"duration_us\":" + std::to_string(micros(r.duration)) +
            ",\"error\":" + json_string(clean(r.error)) + "}]}";
        publish(std::move(json));
    } catch (...) {
    }
}

void SignalMonitor::on_send_done(std::uint64_t send_id) noexcept {
    if (next_) {
        next_->on_send_done(send_id);
    }
    try {
        Open send;
        {
            std::lock_guard lock(mutex_);
            const auto it = open_.find(send_id);
            if (it == open_.end()) {
                return;
            }
            send = std::move(it->second);
            open_.erase(it);
        }
        const auto total = std::chrono::steady_clock::now() - send.start;
        std::string json = "{\"send_id\":" + std::to_string(send_id) +
                           ",\"signal\":" + json_string(clean(send.signal)) +
                           ",\"sender\":" + json_string(clean(send.sender)) +
                           ",\"instance\":" + json_string(clean(send.instance)) +
                           ",\"after_commit\":false,\"total_us\":" + std::to_string(micros(total)) +
                           ",\"receivers\":[";
        bool first = true;
        for (const Receiver& r : send.receivers) {
            json += first ? "" : ",";
            first = false;
            json += "{\"name\":" + json_string(clean(r.name)) + ",\"outcome\":\"";
            json += r.deferred ? "deferred" : (r.ok ? "ok" : "error");
            json += "\",\"duration_us\":" + std::to_string(micros(r.duration)) +
                    ",\"error\":" + json_string(clean(r.error)) + "}";
        }
        json += "]}";
        publish(std::move(json));
    } catch (...) {
    }
}

void SignalMonitor::publish(std::string json) {
    {
        std::lock_guard lock(mutex_);
        log_.push_back({++sequence_, std::move(json)});
        while (log_.size() > capacity) {
            log_.pop_front();
        }
    }
    changed_.notify_all();
}

std::vector<SignalMonitor::Entry> SignalMonitor::wait_after(std::uint64_t sequence,
                                                            std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    changed_.wait_for(lock, timeout, [&] { return stopped_ || sequence_ > sequence; });
    std::vector<Entry> out;
    if (stopped_) {
        return out;
    }
    for (const Entry& e : log_) {
        if (e.sequence > sequence) {
            out.push_back(e);
        }
    }
    return out;
}

std::uint64_t SignalMonitor::last_sequence() const {
    std::lock_guard lock(mutex_);
    return sequence_;
}

void SignalMonitor::stop() {
    {
        std::lock_guard lock(mutex_);
        stopped_ = true;
    }
    changed_.notify_all();
}

bool SignalMonitor::stopped() const {
    std::lock_guard lock(mutex_);
    return stopped_;
}

}  // namespace tocsin::admin::detail
