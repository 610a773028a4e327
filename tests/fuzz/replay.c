/* replay: a main() for the fuzz targets in the ordinary build: every file named (or in a folder named) run once */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

/* As under libFuzzer, a target need not define it. */
#pragma weak LLVMFuzzerInitialize

/* Inputs are corpus files and reproducers: small. A larger file is a mistake in the tree. */
#define REPLAY_INPUT_MAX (16u << 20)

static int replay_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	unsigned char *data = NULL;
	size_t size = 0, cap = 0;
	int r = 0;

	if (!f) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -errno;
	}
	for (;;) {
		if (size == cap) {
			unsigned char *grown;

			cap = cap ? cap * 2 : 4096;
			if (cap > REPLAY_INPUT_MAX) {
				fprintf(stderr, "replay: %s: larger than %u bytes\n", path, REPLAY_INPUT_MAX);
				r = -EFBIG;
				goto out;
			}
			grown = realloc(data, cap);
			if (!grown) {
				r = -ENOMEM;
				goto out;
			}
			data = grown;
		}
		size_t n = fread(data + size, 1, cap - size, f);
		size += n;
		if (n == 0)
			break;
	}
	if (ferror(f)) {
		fprintf(stderr, "replay: %s: read error\n", path);
		r = -EIO;
		goto out;
	}
	/* A target sees the bytes and nothing past them, as under libFuzzer. */
	LLVMFuzzerTestOneInput(size ? data : (const unsigned char *)"", size);
out:
	free(data);
	fclose(f);
	return r;
}

/* Every regular file of dir, in name order (so a failure is reproducible). Returns the count or -errno. */
static int replay_dir(const char *dir)
{
	struct dirent **entries = NULL;
	int n = scandir(dir, &entries, NULL, alphasort), count = 0, r = 0;

	if (n < 0) {
		fprintf(stderr, "replay: %s: %s\n", dir, strerror(errno));
		return -errno;
	}
	for (int i = 0; i < n; i++) {
		char path[4096];
		struct stat st;

		if (r == 0 && entries[i]->d_name[0] != '.' &&
			snprintf(path, sizeof(path), "%s/%s", dir, entries[i]->d_name) < (int)sizeof(path) &&
			stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
			r = replay_file(path);
			count++;
		}
		free(entries[i]);
	}
	free(entries);
	return r < 0 ? r : count;
}

int main(int argc, char **argv)
{
	int total = 0;

	if (LLVMFuzzerInitialize)
		LLVMFuzzerInitialize(&argc, &argv);
	for (int i = 1; i < argc; i++) {
		struct stat st;
		int r;

		if (stat(argv[i], &st) != 0) {
			fprintf(stderr, "replay: %s: %s\n", argv[i], strerror(errno));
			return 1;
		}
		r = S_ISDIR(st.st_mode) ? replay_dir(argv[i]) : (replay_file(argv[i]) < 0 ? -1 : 1);
		if (r < 0)
			return 1;
		total += r;
	}
	if (total == 0) {
		fprintf(stderr, "replay: no input replayed\n");
		return 1;
	}
	printf("replay: %d inputs, no finding\n", total);
	return 0;
}
