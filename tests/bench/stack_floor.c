/*
 * stack_floor: the resident memory of the chosen libraries alone, the floor under the exporter's own. The
 * smallest program that does what the exporter needs of them: libmicrohttpd answers one HTTP GET that libcurl
 * sends, OpenSSL hashes (SHA-256) and signs (HMAC-SHA256) as SigV4 does. Linked like the exporter (the same
 * dependencies), so the same libraries are loaded and initialised.
 *
 * Prints "rss_kib=N anon_kib=N file_kib=N" once it is done, then waits for its standard input to close (so
 * that the caller may read /proc itself), or exits at once with --exit.
 */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <microhttpd.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static enum MHD_Result answer(void *cls, struct MHD_Connection *c, const char *url, const char *method,
	const char *version, const char *data, size_t *size, void **state)
{
	static const char body[] = "ok\n";
	struct MHD_Response *r;
	enum MHD_Result ret;

	(void)cls, (void)url, (void)method, (void)version, (void)data, (void)size, (void)state;
	r = MHD_create_response_from_buffer(sizeof(body) - 1, (void *)body, MHD_RESPMEM_PERSISTENT);
	if (!r)
		return MHD_NO;
	ret = MHD_queue_response(c, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ret;
}

static size_t discard(char *p, size_t size, size_t n, void *user)
{
	(void)p, (void)user;
	return size * n;
}

static long status_kib(const char *key)
{
	char line[256];
	long v = -1;
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, key, strlen(key)) == 0)
			v = strtol(line + strlen(key), NULL, 10);
	fclose(f);
	return v;
}

int main(int argc, char **argv)
{
	struct MHD_Daemon *d;
	const union MHD_DaemonInfo *info;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0;
	char url[64];
	CURL *c;
	int ok = 1;

	struct sockaddr_in loopback = {.sin_family = AF_INET, .sin_port = 0, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};

	/* on loopback, at a port the system picks */
	d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL, 0, NULL, NULL, answer, NULL,
		MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&loopback, MHD_OPTION_END);
	info = d ? MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT) : NULL;
	if (!info) {
		fprintf(stderr, "stack_floor: cannot start libmicrohttpd\n");
		return 1;
	}
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/", (unsigned)info->port);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK || !(c = curl_easy_init())) {
		fprintf(stderr, "stack_floor: cannot start libcurl\n");
		return 1;
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	for (int i = 0; i < 2; i++)
		ok &= curl_easy_perform(c) == CURLE_OK;
	ok &= EVP_Digest("payload", 7, md, &md_len, EVP_sha256(), NULL) == 1;
	ok &= HMAC(EVP_sha256(), "key", 3, md, md_len, md, &md_len) != NULL;
	if (!ok) {
		fprintf(stderr, "stack_floor: the GET or the hashing failed\n");
		return 1;
	}
	printf("rss_kib=%ld anon_kib=%ld file_kib=%ld\n", status_kib("VmRSS:"), status_kib("RssAnon:"),
		status_kib("RssFile:"));
	fflush(stdout);
	if (!(argc > 1 && strcmp(argv[1], "--exit") == 0))
		while (getchar() != EOF)
			;
	curl_easy_cleanup(c);
	curl_global_cleanup();
	MHD_stop_daemon(d);
	return 0;
}
