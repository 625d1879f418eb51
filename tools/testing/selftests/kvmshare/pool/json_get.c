// SPDX-License-Identifier: GPL-2.0
/*
 * json_get FILE [POINTER...]: parse FILE as one JSON document (json-c,
 * nothing but blanks after it) and print the value at each JSON pointer
 * (RFC 6901: /pool/name, /partitions/0/path), one a line: a string as it
 * is, anything else as JSON. Exit status 1 if the document does not
 * parse or a pointer finds nothing. kvmsharectl.sh checks what
 * `kvmsharectl status --json` prints with it (the test VM has no other
 * JSON parser).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>
#include <json-c/json_pointer.h>

#define MAX_DOC (16 << 20)

int main(int argc, char **argv)
{
	struct json_tokener *tok;
	struct json_object *doc, *v;
	enum json_tokener_error err;
	size_t len = 0, end;
	char *buf;
	FILE *f;
	int i, ret = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: json_get FILE [POINTER...]\n");
		return 2;
	}
	f = fopen(argv[1], "r");
	buf = malloc(MAX_DOC);
	if (!f || !buf) {
		fprintf(stderr, "json_get: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	len = fread(buf, 1, MAX_DOC, f);
	fclose(f);
	tok = json_tokener_new();
	doc = json_tokener_parse_ex(tok, buf, len);
	err = json_tokener_get_error(tok);
	end = json_tokener_get_parse_end(tok);
	if (err != json_tokener_success || !doc) {
		fprintf(stderr, "json_get: %s: not JSON: %s (at byte %zu)\n",
			argv[1], err == json_tokener_continue ? "incomplete" :
			json_tokener_error_desc(err), end);
		return 1;
	}
	for (; end < len; end++) {
		if (!strchr(" \t\r\n", buf[end])) {
			fprintf(stderr, "json_get: %s: more after the document (byte %zu)\n",
				argv[1], end);
			return 1;
		}
	}
	for (i = 2; i < argc; i++) {
		if (json_pointer_get(doc, argv[i], &v)) {
			fprintf(stderr, "json_get: %s: no %s\n", argv[1],
				argv[i]);
			ret = 1;
			continue;
		}
		if (json_object_is_type(v, json_type_string))
			printf("%s\n", json_object_get_string(v));
		else
			puts(json_object_to_json_string_ext(v,
							    JSON_C_TO_STRING_PLAIN));
	}
	json_object_put(doc);
	json_tokener_free(tok);
	free(buf);
	return ret;
}
