#pragma once
// The rules of the RPC / NFS verdicts (issue 19 item 3), each a function over typed facts, so
// that a unit test can pin it without packets. rpc_analyzer.cc gathers the facts.

#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "vxcheck/analyze/connection_report.h"
#include "vxcheck/analyze/rpc_analyzer.h"
#include "vxcheck/rpc/nfs.h"
#include "vxcheck/track/flow_key.h"

namespace vxcheck::analyze::rpc_rules {

/// rpc_unanswered: no reply on this connection, none on a later connection between the same
/// client IP and server ip:port, and the capture ran `after_s` >= the threshold after the last
/// copy or the connection closed after it. Calls in the last seconds are pending.
[[nodiscard]] bool unanswered(bool answered_here, bool answered_later, double after_s,
                              bool closed_after, double threshold_s) noexcept;

/// NFS4ERR_REP_TOO_BIG or NFS4ERR_REP_TOO_BIG_TO_CACHE (nfs_reply_too_big).
[[nodiscard]] bool reply_too_big(std::uint32_t nfsstat4) noexcept;
/// NFS4ERR_REQ_TOO_BIG (nfs_request_too_big).
[[nodiscard]] bool request_too_big(std::uint32_t nfsstat4) noexcept;
/// The errors that tell a client its session or clientid is gone: BADSESSION, DEADSESSION,
/// STALE_CLIENTID, EXPIRED.
[[nodiscard]] bool session_error(std::uint32_t nfsstat4) noexcept;

/// The status a COMPOUND reply failed with, NFS4_OK when it did not. Processing stops at the
/// first failing op, so that is the last result the walk read when its status is not NFS4_OK.
/// Otherwise it is the COMPOUND status: numres is 0, or the walk stopped at a result body it
/// cannot skip before reaching the failing op (RFC 8881 section 15.2: the COMPOUND status is the
/// last evaluated op's).
[[nodiscard]] std::uint32_t compound_failure(const rpc::CompoundReply& r) noexcept;

/// The limit a v4.1+ reply must keep: ca_maxresponsesize, or ca_maxresponsesize_cached when the
/// call's SEQUENCE had sa_cachethis.
[[nodiscard]] std::uint32_t reply_limit(const rpc::ChannelAttrs& fore, bool cachethis) noexcept;

/// One EXCHANGE_ID or SETCLIENTID presentation of an owner to a server.
struct OwnerEvent {
    track::Endpoint client;  // address only (port 0)
    rpc::Verifier4 verifier{};
    Timestamp ts;
};
/// A reply to a client at a server: an establishment (CREATE_SESSION or SETCLIENTID_CONFIRM
/// with NFS4_OK) or a session error (session_error()).
struct SessionEvent {
    track::Endpoint client;  // address only
    Timestamp ts;
    bool establishment = false;
};

/// nfs_clientid_collision over the presentations of one owner at one server (time order) and
/// the session events at that server (time order); nullopt when it does not fire.
[[nodiscard]] std::optional<RpcCollision> clientid_collision(
    std::string_view owner, std::span<const OwnerEvent> presentations,
    std::span<const SessionEvent> events, const RpcOptions& options);

/// The establishments and recovery cycles of one client at one server (events in time order).
[[nodiscard]] RpcChurn session_churn(std::span<const SessionEvent> events,
                                     const RpcOptions& options) noexcept;
/// nfs_session_churn fires on these facts.
[[nodiscard]] bool churn_fires(const RpcChurn& c, const RpcOptions& options) noexcept;

/// An owner string as printable text (other bytes as \xNN).
[[nodiscard]] std::string printable(std::string_view bytes);

}  // namespace vxcheck::analyze::rpc_rules
