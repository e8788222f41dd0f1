#include "tls/tls_policy.h"

#include <openssl/bio.h>
#include <openssl/conf.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <memory>
#include <mutex>
#include <string>

#include "absl/strings/str_cat.h"

namespace cmdctl {
namespace {

// Applied to every SSL_CTX made after it is loaded (OpenSSL's
// "system_default"). See tls_policy.h for why this is the way in.
constexpr char kPolicyConfig[] =
    "cmdctl_conf = cmdctl_init\n"
    "[cmdctl_init]\n"
    "ssl_conf = cmdctl_ssl\n"
    "[cmdctl_ssl]\n"
    "system_default = cmdctl_tls\n"
    "[cmdctl_tls]\n"
    "Protocol = -ALL, TLSv1.3\n"
    "MinProtocol = TLSv1.3\n"
    "Ciphersuites = TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:"
    "TLS_AES_128_GCM_SHA256\n"
    "Options = ServerPreference\n";

// The first queued OpenSSL error, as text, and clears the queue.
std::string OpenSslError() {
  unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return "no OpenSSL error recorded";
  char buf[256];
  ERR_error_string_n(code, buf, sizeof(buf));
  return buf;
}

absl::Status LoadPolicy() {
  // Load the system configuration first (it is loaded once per process),
  // so that a later implicit load cannot replace ours.
  if (OPENSSL_init_ssl(OPENSSL_INIT_LOAD_CONFIG, nullptr) != 1) {
    return absl::FailedPreconditionError(
        absl::StrCat("TLS policy: OpenSSL init failed: ", OpenSslError()));
  }
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(
      BIO_new_mem_buf(kPolicyConfig, -1), BIO_free);
  std::unique_ptr<CONF, decltype(&NCONF_free)> conf(NCONF_new(nullptr),
                                                    NCONF_free);
  if (bio == nullptr || conf == nullptr) {
    return absl::ResourceExhaustedError("TLS policy: out of memory");
  }
  long error_line = -1;
  if (NCONF_load_bio(conf.get(), bio.get(), &error_line) <= 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("TLS policy: configuration line ", error_line,
                     " rejected: ", OpenSslError()));
  }
  if (CONF_modules_load(conf.get(), "cmdctl_conf", 0) <= 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("TLS policy: OpenSSL did not apply it: ", OpenSslError()));
  }
  return VerifyTls13Policy();
}

}  // namespace

absl::Status VerifyTls13Policy() {
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx(
      SSL_CTX_new(TLS_method()), SSL_CTX_free);
  if (ctx == nullptr) {
    return absl::FailedPreconditionError(
        absl::StrCat("TLS policy: cannot make an SSL_CTX: ", OpenSslError()));
  }
  // What gRPC 1.51 does to every context it makes: it must not undo us.
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  const uint64_t options = SSL_CTX_get_options(ctx.get());
  const uint64_t required_off =
      SSL_OP_NO_SSLv3 | SSL_OP_NO_TLSv1 | SSL_OP_NO_TLSv1_1 | SSL_OP_NO_TLSv1_2;
  if ((options & required_off) != required_off) {
    return absl::FailedPreconditionError(
        "TLS policy not in effect: TLS 1.2 or older is still enabled");
  }
  if ((options & SSL_OP_NO_TLSv1_3) != 0) {
    return absl::FailedPreconditionError(
        "TLS policy not in effect: TLS 1.3 is disabled");
  }
  if ((options & SSL_OP_CIPHER_SERVER_PREFERENCE) == 0) {
    return absl::FailedPreconditionError(
        "TLS policy not in effect: server cipher preference is off");
  }
  STACK_OF(SSL_CIPHER)* ciphers = SSL_CTX_get_ciphers(ctx.get());
  if (ciphers == nullptr || sk_SSL_CIPHER_num(ciphers) == 0) {
    return absl::FailedPreconditionError(
        "TLS policy not in effect: no cipher suites");
  }
  const char* first = SSL_CIPHER_get_name(sk_SSL_CIPHER_value(ciphers, 0));
  if (first == nullptr || std::string(first) != "TLS_AES_256_GCM_SHA384") {
    return absl::FailedPreconditionError(absl::StrCat(
        "TLS policy not in effect: first cipher suite is ",
        first == nullptr ? "(none)" : first, ", not TLS_AES_256_GCM_SHA384"));
  }
  return absl::OkStatus();
}

absl::Status EnforceTls13Policy() {
  static std::once_flag once;
  static absl::Status* result = nullptr;
  std::call_once(once, [] { result = new absl::Status(LoadPolicy()); });
  return *result;
}

}  // namespace cmdctl
