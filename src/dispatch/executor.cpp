#include "tocsin/dispatch/executor.hpp"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

namespace tocsin {

namespace {
thread_local const ThreadPool* current_pool = nullptr;
}

Executor::~Executor() = default;

bool Executor::runs_on_current_thread() const noexcept {
    return false;
}

struct ThreadPool::State {
    std::mutex mutex;
    std::condition_variable ready;
    std::deque<std::function<void()>> tasks;
    bool stopping = false;
    std::vector<std::thread> workers;
};

ThreadPool::ThreadPool(std::size_t threads) : state_(std::make_unique<State>()) {
    if (threads == 0) {
        threads = std::max(1u, std::thread::hardware_concurrency());
    }
    state_->workers.reserve(threads);
    for (std::size_t i = 0; i < threads; ++i) {
        state_->workers.emplace_back([this] { work(); });
    }
}

ThreadPool::~ThreadPool() {
    {
        std::lock_guard lock(state_->mutex);
        state_->stopping = true;
    }
    state_->ready.notify_all();
    for (auto& w : state_->workers) {
        w.join();
    }
}

void ThreadPool::execute(std::function<void()> task) {
    {
        std::lock_guard lock(state_->mutex);
        state_->tasks.push_back(std::move(task));
    }
    state_->ready.notify_one();
}

std::size_t ThreadPool::size() const noexcept {
    return state_->workers.size();
}

bool ThreadPool::runs_on_current_thread() const noexcept {
    return current_pool == this;
}

void ThreadPool::work() {
    current_pool = this;
    for (;;) {
        std::function<void()> task;
        {
            State& st = *state_;
            std::unique_lock lock(st.mutex);
            st.ready.wait(lock, [&st] { return st.stopping || !st.tasks.empty(); });
            if (st.tasks.empty()) {
                return;
            }
            task = std::move(st.tasks.front());
            st.tasks.pop_front();
        }
        try {
            task();
        } catch (...) {  // NOLINT(bugprone-empty-catch): a task's failure must not end the pool
        }
    }
}

std::shared_ptr<Executor> default_executor() {
    static const std::shared_ptr<Executor> pool = std::make_shared<ThreadPool>();
    return pool;
}

}  // namespace tocsin
