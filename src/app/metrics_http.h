#pragma once
// The HTTP listener of `capture --metrics-listen`. Private to src/app.
//
// One thread serves every client from one poll() loop, so a client that connects and sends
// nothing holds a slot, never a thread: /metrics is answered while any number of clients idle.
// Slots are bounded (kMaxClients; a new client closes the oldest when all are taken), a request
// must arrive within kRequestTimeout of the connection and the answer be read within
// kWriteTimeout, and every answer closes its connection.

#include <chrono>
#include <cstddef>
#include <functional>
#include <string>
#include <thread>

namespace vxcheck::app {

inline constexpr std::size_t kMaxClients = 256;
inline constexpr std::size_t kMaxRequestBytes = 8192;
inline constexpr std::chrono::milliseconds kRequestTimeout{2000};
inline constexpr std::chrono::milliseconds kWriteTimeout{5000};

class MetricsListener {
  public:
    /// Binds and listens on `listen`: "ADDR:PORT", "[IPv6]:PORT" or "PORT" (every address).
    /// Throws std::runtime_error naming the problem: a bad address or port, the address in
    /// use, no permission, an address this host does not have.
    MetricsListener(const std::string& listen, std::function<std::string()> metrics_text);
    ~MetricsListener();
    MetricsListener(const MetricsListener&) = delete;
    MetricsListener& operator=(const MetricsListener&) = delete;

    /// Starts the serving thread (after the process has dropped its privileges: a thread
    /// keeps the capabilities it was created with).
    void start();
    /// The port it listens on (useful with port 0).
    [[nodiscard]] int port() const noexcept { return port_; }

  private:
    void run() noexcept;

    std::function<std::string()> metrics_text_;
    int listen_fd_ = -1;
    int wake_[2] = {-1, -1};  // a pipe: a byte on it stops the thread
    int port_ = 0;
    std::thread thread_;
};

}  // namespace vxcheck::app
