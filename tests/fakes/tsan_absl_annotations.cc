// ThreadSanitizer annotations for Debian's prebuilt Abseil (TSan builds only).
//
// Debian's libabsl_synchronization.so is not built with -fsanitize=thread, so
// TSan cannot see absl::Mutex, CondVar or Notification establish
// happens-before: every access guarded by an absl::Mutex is then reported as
// a data race. Abseil annotates itself with __tsan_mutex_* only when it is
// compiled with TSan. This file interposes the out-of-line entry points
// (symbols defined in the executable win over the shared library's), tells
// TSan what they do, and forwards to the real implementation via
// dlsym(RTLD_NEXT). Calls between functions inside the shared library go
// through the PLT, so they are interposed too.
//
// Covered: Mutex Lock/Unlock/TryLock, reader variants, LockWhen*, Await*,
// CondVar::Wait*, Notification Notify/WaitForNotification*. Not covered:
// Notification::HasBeenNotified() (inline; uses an atomic the library stores
// without instrumentation): wait with WaitForNotification instead.
//
// Link this file only into TSan builds (it needs -fsanitize=thread).
#include <dlfcn.h>
#include <sanitizer/tsan_interface.h>

#include <cstdio>
#include <cstdlib>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"

namespace {

// Resolves the library's definition of `mangled` once.
template <typename Fn>
Fn Real(const char* mangled) {
  void* sym = dlsym(RTLD_NEXT, mangled);
  if (sym == nullptr) {
    std::fprintf(stderr, "tsan_absl_annotations: no symbol %s\n", mangled);
    std::abort();
  }
  return reinterpret_cast<Fn>(sym);
}

#define CMDCTL_REAL(type, mangled) static const auto real = Real<type>(mangled)

constexpr unsigned kRead = __tsan_mutex_read_lock;
constexpr unsigned kTry = __tsan_mutex_try_lock;
constexpr unsigned kTryFailed = __tsan_mutex_try_lock_failed;

// A wait that releases `mu` and holds it again on return.
void BeforeWait(void* mu) {
  __tsan_mutex_pre_unlock(mu, 0);
  __tsan_mutex_post_unlock(mu, 0);
}
void AfterWait(void* mu) {
  __tsan_mutex_pre_lock(mu, 0);
  __tsan_mutex_post_lock(mu, 0, 0);
}

}  // namespace

namespace absl {
ABSL_NAMESPACE_BEGIN

void Mutex::Lock() {
  CMDCTL_REAL(void (*)(Mutex*), "_ZN4absl7debian35Mutex4LockEv");
  __tsan_mutex_pre_lock(this, 0);
  real(this);
  __tsan_mutex_post_lock(this, 0, 0);
}

void Mutex::Unlock() {
  CMDCTL_REAL(void (*)(Mutex*), "_ZN4absl7debian35Mutex6UnlockEv");
  __tsan_mutex_pre_unlock(this, 0);
  real(this);
  __tsan_mutex_post_unlock(this, 0);
}

bool Mutex::TryLock() {
  CMDCTL_REAL(bool (*)(Mutex*), "_ZN4absl7debian35Mutex7TryLockEv");
  __tsan_mutex_pre_lock(this, kTry);
  const bool locked = real(this);
  __tsan_mutex_post_lock(this, locked ? kTry : kTry | kTryFailed, 0);
  return locked;
}

void Mutex::ReaderLock() {
  CMDCTL_REAL(void (*)(Mutex*), "_ZN4absl7debian35Mutex10ReaderLockEv");
  __tsan_mutex_pre_lock(this, kRead);
  real(this);
  __tsan_mutex_post_lock(this, kRead, 0);
}

void Mutex::ReaderUnlock() {
  CMDCTL_REAL(void (*)(Mutex*), "_ZN4absl7debian35Mutex12ReaderUnlockEv");
  __tsan_mutex_pre_unlock(this, kRead);
  real(this);
  __tsan_mutex_post_unlock(this, kRead);
}

bool Mutex::ReaderTryLock() {
  CMDCTL_REAL(bool (*)(Mutex*), "_ZN4absl7debian35Mutex13ReaderTryLockEv");
  __tsan_mutex_pre_lock(this, kRead | kTry);
  const bool locked = real(this);
  __tsan_mutex_post_lock(this,
                         locked ? kRead | kTry : kRead | kTry | kTryFailed, 0);
  return locked;
}

void Mutex::LockWhen(const Condition& cond) {
  CMDCTL_REAL(void (*)(Mutex*, const Condition&),
              "_ZN4absl7debian35Mutex8LockWhenERKNS0_9ConditionE");
  __tsan_mutex_pre_lock(this, 0);
  real(this, cond);
  __tsan_mutex_post_lock(this, 0, 0);
}

void Mutex::ReaderLockWhen(const Condition& cond) {
  CMDCTL_REAL(void (*)(Mutex*, const Condition&),
              "_ZN4absl7debian35Mutex14ReaderLockWhenERKNS0_9ConditionE");
  __tsan_mutex_pre_lock(this, kRead);
  real(this, cond);
  __tsan_mutex_post_lock(this, kRead, 0);
}

bool Mutex::LockWhenWithTimeout(const Condition& cond, absl::Duration t) {
  // Through our own deadline variant: the library's timeout variant may call
  // its deadline variant through the PLT, which would annotate twice.
  return LockWhenWithDeadline(cond, absl::Now() + t);
}

bool Mutex::LockWhenWithDeadline(const Condition& cond, absl::Time d) {
  CMDCTL_REAL(bool (*)(Mutex*, const Condition&, absl::Time),
              "_ZN4absl7debian35Mutex20LockWhenWithDeadlineERKNS0_"
              "9ConditionENS0_4TimeE");
  __tsan_mutex_pre_lock(this, 0);
  const bool met = real(this, cond, d);
  __tsan_mutex_post_lock(this, 0, 0);
  return met;
}

void Mutex::Await(const Condition& cond) {
  CMDCTL_REAL(void (*)(Mutex*, const Condition&),
              "_ZN4absl7debian35Mutex5AwaitERKNS0_9ConditionE");
  BeforeWait(this);
  real(this, cond);
  AfterWait(this);
}

bool Mutex::AwaitWithTimeout(const Condition& cond, absl::Duration t) {
  return AwaitWithDeadline(cond, absl::Now() + t);  // see LockWhenWithTimeout
}

bool Mutex::AwaitWithDeadline(const Condition& cond, absl::Time d) {
  CMDCTL_REAL(bool (*)(Mutex*, const Condition&, absl::Time),
              "_ZN4absl7debian35Mutex17AwaitWithDeadlineERKNS0_9ConditionENS0_"
              "4TimeE");
  BeforeWait(this);
  const bool met = real(this, cond, d);
  AfterWait(this);
  return met;
}

void CondVar::Wait(Mutex* mu) {
  CMDCTL_REAL(void (*)(CondVar*, Mutex*),
              "_ZN4absl7debian37CondVar4WaitEPNS0_5MutexE");
  BeforeWait(mu);
  real(this, mu);
  AfterWait(mu);
}

bool CondVar::WaitWithTimeout(Mutex* mu, absl::Duration t) {
  return WaitWithDeadline(mu, absl::Now() + t);  // see LockWhenWithTimeout
}

bool CondVar::WaitWithDeadline(Mutex* mu, absl::Time d) {
  CMDCTL_REAL(bool (*)(CondVar*, Mutex*, absl::Time),
              "_ZN4absl7debian37CondVar16WaitWithDeadlineEPNS0_5MutexENS0_"
              "4TimeE");
  BeforeWait(mu);
  const bool timed_out = real(this, mu, d);
  AfterWait(mu);
  return timed_out;
}

void Notification::Notify() {
  CMDCTL_REAL(void (*)(Notification*),
              "_ZN4absl7debian312Notification6NotifyEv");
  __tsan_release(this);
  real(this);
}

void Notification::WaitForNotification() const {
  CMDCTL_REAL(void (*)(const Notification*),
              "_ZNK4absl7debian312Notification19WaitForNotificationEv");
  real(this);
  __tsan_acquire(const_cast<Notification*>(this));
}

bool Notification::WaitForNotificationWithTimeout(absl::Duration t) const {
  return WaitForNotificationWithDeadline(absl::Now() + t);
}

bool Notification::WaitForNotificationWithDeadline(absl::Time d) const {
  CMDCTL_REAL(
      bool (*)(const Notification*, absl::Time),
      "_ZNK4absl7debian312Notification31WaitForNotificationWithDeadlineE"
      "NS0_4TimeE");
  const bool notified = real(this, d);
  if (notified) __tsan_acquire(const_cast<Notification*>(this));
  return notified;
}

ABSL_NAMESPACE_END
}  // namespace absl
