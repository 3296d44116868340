// tocsin::Executor — where an async receiver runs; tocsin::ThreadPool, the default one.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>

namespace tocsin {

/// Runs tasks somewhere else. An async receiver (connected with `Connect{.executor = …}`) is
/// handed to its executor; implement this to run receivers on your own event loop or pool.
class Executor {
  public:
    virtual ~Executor();
    /// Runs `task` once, eventually. Must not throw once it has accepted the task.
    virtual void execute(std::function<void()> task) = 0;
    /// True when the calling thread is one of this executor's own threads (a send from there runs
    /// its async receivers inline instead of waiting on itself). Default: false.
    [[nodiscard]] virtual bool runs_on_current_thread() const noexcept;
};

/// A fixed pool of threads taking tasks in FIFO order.
class ThreadPool final : public Executor {
  public:
    /// Starts `threads` workers (0 = std::thread::hardware_concurrency(), at least 1).
    explicit ThreadPool(std::size_t threads = 0);
    /// Runs every task already queued, then joins the workers.
    ~ThreadPool() override;
    ThreadPool(const ThreadPool&) = delete;
    ThreadPool& operator=(const ThreadPool&) = delete;

    /// Queues `task`; a task that throws is swallowed (receivers' errors are caught before).
    void execute(std::function<void()> task) override;
    [[nodiscard]] bool runs_on_current_thread() const noexcept override;
    /// The number of worker threads.
    [[nodiscard]] std::size_t size() const noexcept;

  private:
    struct State;  ///< the queue and the workers (out of line: no <thread> in this header)
    void work();

    std::unique_ptr<State> state_;
};

/// The process-wide pool that asend() runs synchronous receivers on (created on first use).
[[nodiscard]] std::shared_ptr<Executor> default_executor();

}  // namespace tocsin
