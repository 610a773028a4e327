/* version: the exporter's name and version as it presents itself to AWS */
#pragma once

/* meson.build defines it for every file; "unknown" outside a meson build. */
#ifndef EXPORTER_VERSION
#define EXPORTER_VERSION "unknown"
#endif

/* The User-Agent of every request to AWS: libcurl's for each client, and the header SigV4 signs. */
#define VERSION_USER_AGENT "deadline-cloud-exporter/" EXPORTER_VERSION
