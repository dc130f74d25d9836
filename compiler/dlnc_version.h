/* dlnc_version.h — one place for the version printed by --version and mixed into JIT cache keys. */
#ifndef DLNC_VERSION_H
#define DLNC_VERSION_H
#define DLNC_VERSION "0.1.0"
#endif
