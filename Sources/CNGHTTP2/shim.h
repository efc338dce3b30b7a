#ifndef RAMPART_CNGHTTP2_SHIM_H
#define RAMPART_CNGHTTP2_SHIM_H
#include <nghttp2/nghttp2.h>

/* The HTTP/2 framing library behind curl's and Apache httpd's HTTP/2 (SPEC §11.7). Rampart maps
   its streams to exchanges and keeps the limits; nghttp2 does frames, HPACK and flow control. */

/// A settings entry (a struct literal Swift can build, kept here beside the ids it uses).
static inline nghttp2_settings_entry rampart_h2_setting(int32_t id, uint32_t value) {
    nghttp2_settings_entry e = { id, value };
    return e;
}
#endif
