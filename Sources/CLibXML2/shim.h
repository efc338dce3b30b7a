#ifndef RAMPART_CLIBXML2_SHIM_H
#define RAMPART_CLIBXML2_SHIM_H
/* libxml2's HTML parser, for the stream_save sanitizer
   (Sources/RampartProxy/Policies/StreamSave/HTMLSanitizer.swift). Only parsing and the tree are used:
   the sanitizer serializes its own output. */
#include <libxml/xmlversion.h>
/* Debian's libxml2 is built with ICU, and libxml/encoding.h then includes ICU's headers, which clash
   with the ICU copy Foundation ships (_FoundationICU). Nothing here uses the ICU converter fields
   (the last members of xmlCharEncodingHandler, only ever reached through pointers). */
#undef LIBXML_ICU_ENABLED
#include <libxml/parser.h>
#include <libxml/HTMLparser.h>
#include <libxml/tree.h>
#endif
