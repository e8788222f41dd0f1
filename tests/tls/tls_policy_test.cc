#include "tls/tls_policy.h"

#include <openssl/ssl.h>

#include <memory>
#include <string>

#include "gtest/gtest.h"

namespace cmdctl {
namespace {

TEST(TlsPolicyTest, EnforcedPolicyDisablesTls12AndPrefersAes256) {
  ASSERT_TRUE(EnforceTls13Policy().ok()) << EnforceTls13Policy();
  // Any SSL_CTX made from now on, as gRPC makes its own.
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx(
      SSL_CTX_new(TLS_method()), SSL_CTX_free);
  ASSERT_NE(ctx, nullptr);
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);  // as gRPC does
  EXPECT_NE(SSL_CTX_get_options(ctx.get()) & SSL_OP_NO_TLSv1_2, 0u);
  EXPECT_EQ(SSL_CTX_get_options(ctx.get()) & SSL_OP_NO_TLSv1_3, 0u);
  EXPECT_NE(SSL_CTX_get_options(ctx.get()) & SSL_OP_CIPHER_SERVER_PREFERENCE,
            0u);
  STACK_OF(SSL_CIPHER)* ciphers = SSL_CTX_get_ciphers(ctx.get());
  ASSERT_GT(sk_SSL_CIPHER_num(ciphers), 0);
  EXPECT_STREQ(SSL_CIPHER_get_name(sk_SSL_CIPHER_value(ciphers, 0)),
               "TLS_AES_256_GCM_SHA384");
}

TEST(TlsPolicyTest, EnforceIsIdempotentAndVerifyAgrees) {
  ASSERT_TRUE(EnforceTls13Policy().ok());
  EXPECT_TRUE(EnforceTls13Policy().ok());
  EXPECT_TRUE(VerifyTls13Policy().ok());
}

}  // namespace
}  // namespace cmdctl
