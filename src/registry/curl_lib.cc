#include "registry/curl_lib.h"

#include <dlfcn.h>

#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>

namespace strata::registry {
namespace {

void Die(const std::string& what) {
  std::fprintf(stderr, "strata: registry access needs libcurl (libcurl4): %s\n", what.c_str());
  std::exit(1);
}

CurlLib Open() {
  void* h = ::dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
  if (h == nullptr) Die(::dlerror());
  CurlLib lib{};
  auto sym = [&](const char* name) {
    void* p = ::dlsym(h, name);
    if (p == nullptr) Die(std::string("missing ") + name);
    return p;
  };
  lib.easy_cleanup = reinterpret_cast<decltype(lib.easy_cleanup)>(sym("curl_easy_cleanup"));
  lib.easy_getinfo = reinterpret_cast<decltype(lib.easy_getinfo)>(sym("curl_easy_getinfo"));
  lib.easy_init = reinterpret_cast<decltype(lib.easy_init)>(sym("curl_easy_init"));
  lib.easy_perform = reinterpret_cast<decltype(lib.easy_perform)>(sym("curl_easy_perform"));
  lib.easy_reset = reinterpret_cast<decltype(lib.easy_reset)>(sym("curl_easy_reset"));
  lib.easy_setopt = reinterpret_cast<decltype(lib.easy_setopt)>(sym("curl_easy_setopt"));
  lib.easy_strerror = reinterpret_cast<decltype(lib.easy_strerror)>(sym("curl_easy_strerror"));
  lib.free = reinterpret_cast<decltype(lib.free)>(sym("curl_free"));
  lib.global_init = reinterpret_cast<decltype(lib.global_init)>(sym("curl_global_init"));
  lib.share_cleanup = reinterpret_cast<decltype(lib.share_cleanup)>(sym("curl_share_cleanup"));
  lib.share_init = reinterpret_cast<decltype(lib.share_init)>(sym("curl_share_init"));
  lib.share_setopt = reinterpret_cast<decltype(lib.share_setopt)>(sym("curl_share_setopt"));
  lib.slist_append = reinterpret_cast<decltype(lib.slist_append)>(sym("curl_slist_append"));
  lib.slist_free_all = reinterpret_cast<decltype(lib.slist_free_all)>(sym("curl_slist_free_all"));
  lib.url = reinterpret_cast<decltype(lib.url)>(sym("curl_url"));
  lib.url_cleanup = reinterpret_cast<decltype(lib.url_cleanup)>(sym("curl_url_cleanup"));
  lib.url_get = reinterpret_cast<decltype(lib.url_get)>(sym("curl_url_get"));
  lib.url_set = reinterpret_cast<decltype(lib.url_set)>(sym("curl_url_set"));
  lib.version_info = reinterpret_cast<decltype(lib.version_info)>(sym("curl_version_info"));
  return lib;
}

}  // namespace

const CurlLib& Curl() {
  static const CurlLib lib = Open();  // thread-safe initialization
  return lib;
}

}  // namespace strata::registry
