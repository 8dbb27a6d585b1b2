// libcurl, opened with dlopen on first use. Only registry commands need it;
// linking it would make every strata command load some thirty more shared
// libraries (libcurl's TLS, LDAP, Kerberos, SSH…), which costs more at
// start-up than `strata images` spends on its work (bench/README.md).
#pragma once

#include <curl/curl.h>

namespace strata::registry {

struct CurlLib {
  decltype(&::curl_easy_cleanup) easy_cleanup;
  decltype(&::curl_easy_getinfo) easy_getinfo;
  decltype(&::curl_easy_init) easy_init;
  decltype(&::curl_easy_perform) easy_perform;
  decltype(&::curl_easy_reset) easy_reset;
  decltype(&::curl_easy_setopt) easy_setopt;
  decltype(&::curl_easy_strerror) easy_strerror;
  decltype(&::curl_free) free;
  decltype(&::curl_global_init) global_init;
  decltype(&::curl_share_cleanup) share_cleanup;
  decltype(&::curl_share_init) share_init;
  decltype(&::curl_share_setopt) share_setopt;
  decltype(&::curl_slist_append) slist_append;
  decltype(&::curl_slist_free_all) slist_free_all;
  decltype(&::curl_url) url;
  decltype(&::curl_url_cleanup) url_cleanup;
  decltype(&::curl_url_get) url_get;
  decltype(&::curl_url_set) url_set;
  decltype(&::curl_version_info) version_info;
};

// The loaded library. If libcurl cannot be opened, prints one line saying so
// and exits with status 1: there is no registry access without it.
const CurlLib& Curl();

}  // namespace strata::registry
