#ifndef RAMPART_CCURL_SHIM_H
#define RAMPART_CCURL_SHIM_H
#include <curl/curl.h>

/* curl_easy_setopt / curl_multi_setopt / curl_easy_getinfo are variadic: Swift cannot call them.
   One typed wrapper per argument kind. */
static inline CURLcode rampart_easy_setopt_long(CURL *h, CURLoption o, long v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode rampart_easy_setopt_off(CURL *h, CURLoption o, curl_off_t v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode rampart_easy_setopt_string(CURL *h, CURLoption o, const char *v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode rampart_easy_setopt_pointer(CURL *h, CURLoption o, void *v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode rampart_easy_setopt_slist(CURL *h, CURLoption o, struct curl_slist *v) { return curl_easy_setopt(h, o, v); }

typedef size_t (*rampart_data_cb)(char *ptr, size_t size, size_t nmemb, void *userdata);
static inline CURLcode rampart_easy_setopt_datacb(CURL *h, CURLoption o, rampart_data_cb cb) { return curl_easy_setopt(h, o, cb); }

static inline CURLcode rampart_easy_getinfo_long(CURL *h, CURLINFO i, long *v) { return curl_easy_getinfo(h, i, v); }
static inline CURLcode rampart_easy_getinfo_pointer(CURL *h, CURLINFO i, void **v) { return curl_easy_getinfo(h, i, v); }

typedef int (*rampart_socket_cb)(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp);
typedef int (*rampart_timer_cb)(CURLM *multi, long timeout_ms, void *userp);
static inline CURLMcode rampart_multi_setopt_long(CURLM *m, CURLMoption o, long v) { return curl_multi_setopt(m, o, v); }
static inline CURLMcode rampart_multi_setopt_pointer(CURLM *m, CURLMoption o, void *v) { return curl_multi_setopt(m, o, v); }
static inline CURLMcode rampart_multi_setopt_socketcb(CURLM *m, rampart_socket_cb cb) { return curl_multi_setopt(m, CURLMOPT_SOCKETFUNCTION, cb); }
static inline CURLMcode rampart_multi_setopt_timercb(CURLM *m, rampart_timer_cb cb) { return curl_multi_setopt(m, CURLMOPT_TIMERFUNCTION, cb); }

/* CURLMsg has a union; read it in C. */
static inline CURL *rampart_msg_easy(CURLMsg *m) { return m->easy_handle; }
static inline int rampart_msg_done(CURLMsg *m) { return m->msg == CURLMSG_DONE; }
static inline CURLcode rampart_msg_result(CURLMsg *m) { return m->data.result; }

static inline const char *rampart_curl_version(void) { return curl_version(); }
#endif
