// SPDX-License-Identifier: GPL-2.0
/*
 * kvmsharectl's QMP client (kvmsharectl qmp) against a fake QEMU on a unix
 * socket, natively on the host: the built CLI is run for each case while
 * a forked server plays QEMU's side byte for byte.
 *
 * Cases: events before the reply; a reply whose text (and a nested key)
 * says "event"; a reply written one byte per write; a 1 MiB reply; a
 * message over the 16 MiB bound; an event and the reply in one write; a
 * reply to another id before the right one; QEMU's error, with and
 * without an id (exit 1, "qmp: CLASS: DESC" on stderr); the server
 * closing before the greeting, after the command and in the middle of a
 * reply; garbage JSON; no greeting; no answer (the timeout); a command
 * that is not JSON. The server checks what the client sends: capabilities
 * first, then the command, each with its own id.
 *
 * The CLI is build/tools/kvmsharectl next to build/selftests (or
 * $KVMSHARECTL).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "kselftest_harness.h"

#define BIG (1 << 20)

/* What one run of the CLI did. */
struct run {
	int status;		/* exit status, or -1 if it did not exit */
	int server;		/* the server's exit status (0: all it saw was right) */
	long ms;		/* how long the CLI took */
	char *out, *err;	/* its stdout and stderr, NUL-terminated */
};

/* The server's side of one case: @id is the id of the client's command. */
typedef void (*serve_fn)(int fd, const char *id);

static char ctl[PATH_MAX];

static void find_ctl(void)
{
	char exe[PATH_MAX];
	const char *env = getenv("KVMSHARECTL");
	ssize_t n;

	if (env) {
		snprintf(ctl, sizeof(ctl), "%s", env);
		return;
	}
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n < 0)
		n = 0;
	exe[n] = 0;
	/* build/selftests/policy/qmp_cli -> build/tools/kvmsharectl */
	snprintf(ctl, sizeof(ctl), "%s/../../tools/kvmsharectl", dirname(exe));
}

static void put(int fd, const char *s, size_t len)
{
	ssize_t n;

	while (len) {
		n = send(fd, s, len, MSG_NOSIGNAL);
		if (n <= 0)
			return;
		s += n;
		len -= n;
	}
}

static void puts_fd(int fd, const char *s)
{
	put(fd, s, strlen(s));
}

/* One line from the client (without its newline), or -1 at its end. */
static int get_line(int fd, char *buf, size_t size)
{
	size_t len = 0;
	char c;

	while (read(fd, &c, 1) == 1) {
		if (c == '\n') {
			buf[len] = 0;
			return len;
		}
		if (len + 1 < size)
			buf[len++] = c;
	}
	return -1;
}

/* The value of "id" in @line (our client writes it plainly): 1 or 0. */
static int get_id(const char *line, char *id, size_t size)
{
	const char *p = strstr(line, "\"id\":");
	size_t n;

	if (!p)
		return 0;
	p += 5;
	n = strspn(p, "0123456789");
	if (!n || n >= size)
		return 0;
	memcpy(id, p, n);
	id[n] = 0;
	return 1;
}

/*
 * QEMU's side up to the command: greeting, capabilities (checked to come
 * first, with an id), the command (checked to be the one given, with
 * another id). Exits 1 if the client sent anything else.
 */
static void hello(int fd, char *id, size_t size)
{
	char line[4096], cid[32], reply[128];

	puts_fd(fd, "{\"QMP\": {\"version\": {\"qemu\": {"
		"\"micro\": 0, \"minor\": 2, \"major\": 7}}, \"capabilities\": [\"oob\"]}}\r\n");
	if (get_line(fd, line, sizeof(line)) < 0 ||
	    !strstr(line, "\"execute\":\"qmp_capabilities\"") ||
	    !get_id(line, cid, sizeof(cid)))
		_exit(1);
	snprintf(reply, sizeof(reply), "{\"return\": {}, \"id\": %s}\r\n", cid);
	puts_fd(fd, reply);
	if (get_line(fd, line, sizeof(line)) < 0 ||
	    !strstr(line, "\"execute\":\"query-status\"") ||
	    !get_id(line, id, size) || !strcmp(id, cid))
		_exit(1);
}

/* Serve one connection on @lfd with @fn in a child; returns its pid. */
static pid_t server(int lfd, serve_fn fn)
{
	pid_t pid = fork();
	char id[32];
	int fd;

	if (pid)
		return pid;
	fd = accept(lfd, NULL, NULL);
	if (fd < 0)
		_exit(2);
	if (fn) {
		hello(fd, id, sizeof(id));
		fn(fd, id);
	}
	close(fd);
	_exit(0);
}

static char *slurp(const char *path)
{
	struct stat st;
	char *s;
	int fd = open(path, O_RDONLY);
	ssize_t n = 0;

	if (fd < 0 || fstat(fd, &st))
		return strdup("");
	s = calloc(1, st.st_size + 1);
	if (s)
		n = read(fd, s, st.st_size);
	close(fd);
	if (s && n >= 0)
		s[n] = 0;
	return s ? s : strdup("");
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000;
}

FIXTURE(qmp) {
	char dir[64];
	char sock[100];
	int lfd;
	struct run r;
};

FIXTURE_SETUP(qmp)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	memset(&self->r, 0, sizeof(self->r));
	snprintf(self->dir, sizeof(self->dir), "/tmp/kqmp.XXXXXX");
	ASSERT_NE(NULL, mkdtemp(self->dir));
	snprintf(self->sock, sizeof(self->sock), "%s/qmp.sock", self->dir);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", self->sock);
	self->lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	ASSERT_LE(0, self->lfd);
	ASSERT_EQ(0, bind(self->lfd, (struct sockaddr *)&sa, sizeof(sa)));
	ASSERT_EQ(0, listen(self->lfd, 4));
	find_ctl();
	ASSERT_EQ(0, access(ctl, X_OK)) TH_LOG("no kvmsharectl at %s", ctl);
}

FIXTURE_TEARDOWN(qmp)
{
	char path[192];

	close(self->lfd);
	free(self->r.out);
	free(self->r.err);
	unlink(self->sock);
	snprintf(path, sizeof(path), "%s/out", self->dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/err", self->dir);
	unlink(path);
	rmdir(self->dir);
}

/*
 * Run "kvmsharectl qmp --timeout 2 SOCK CMD" against a server running
 * @fn (NULL: the server accepts and closes at once; @serve 0: no server).
 */
static void run(struct __test_metadata *_metadata,
		struct _test_data_qmp *self, serve_fn fn, int serve,
		const char *cmd)
{
	char out[192], err[192];
	pid_t srv = 0, cli;
	int st;
	long t0;

	snprintf(out, sizeof(out), "%s/out", self->dir);
	snprintf(err, sizeof(err), "%s/err", self->dir);
	if (serve)
		srv = server(self->lfd, fn);
	ASSERT_LE(0, srv);
	t0 = now_ms();
	cli = fork();
	ASSERT_LE(0, cli);
	if (!cli) {
		int o = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		int e = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		if (o < 0 || e < 0 || dup2(o, 1) < 0 || dup2(e, 2) < 0)
			_exit(127);
		execl(ctl, "kvmsharectl", "qmp", "--timeout", "2", self->sock,
		      cmd, (char *)NULL);
		_exit(127);
	}
	ASSERT_EQ(cli, waitpid(cli, &st, 0));
	self->r.ms = now_ms() - t0;
	self->r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	self->r.server = 0;
	if (srv) {
		ASSERT_EQ(srv, waitpid(srv, &st, 0));
		self->r.server = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	}
	free(self->r.out);
	free(self->r.err);
	self->r.out = slurp(out);
	self->r.err = slurp(err);
	TH_LOG("exit %d in %ld ms, stderr: %.200s", self->r.status,
	       self->r.ms, self->r.err);
}

#define CMD "{\"execute\": \"query-status\"}"

/* Write @fmt with every "ID" replaced by @id. */
static void say(int fd, const char *id, const char *fmt)
{
	const char *p;

	while ((p = strstr(fmt, "ID"))) {
		put(fd, fmt, p - fmt);
		puts_fd(fd, id);
		fmt = p + 2;
	}
	puts_fd(fd, fmt);
}

static void srv_events(int fd, const char *id)
{
	say(fd, id, "{\"timestamp\": {"
		"\"seconds\": 1, \"microseconds\": 2}, \"event\": \"BALLOON_CHANGE\", \"data\": {"
		"\"actual\": 1}}\r\n");
	usleep(20000);
	say(fd, id, "{\"event\": \"RESUME\"}\r\n");
	usleep(20000);
	say(fd, id, "{\"return\": {"
		"\"status\": \"running\", \"singlestep\": false, \"running\": true}, \"id\": ID}\r\n");
}

TEST_F(qmp, events_before_reply)
{
	run(_metadata, self, srv_events, 1, CMD);
	EXPECT_EQ(0, self->r.server);
	EXPECT_EQ(0, self->r.status);
	EXPECT_STREQ("{\"status\":\"running\",\"singlestep\":false,\"running\":true}\n",
		     self->r.out);
}

static void srv_event_text(int fd, const char *id)
{
	say(fd, id, "{\"return\": {"
		"\"text\": \"an \\\"event\\\": here\", \"nested\": {"
		"\"event\": \"not top-level\"}}, \"id\": ID}\r\n");
}

TEST_F(qmp, event_text_in_reply)
{
	run(_metadata, self, srv_event_text, 1, CMD);
	EXPECT_EQ(0, self->r.server);
	EXPECT_EQ(0, self->r.status);
	EXPECT_STREQ("{"
		     "\"text\":\"an \\\"event\\\": here\",\"nested\":{"
		     "\"event\":\"not top-level\"}}\n",
		     self->r.out);
}

static void srv_split(int fd, const char *id)
{
	char msg[256];
	size_t i;

	snprintf(msg, sizeof(msg),
		 "{\"event\": \"X\"}\r\n{\"return\": {\"s\": \"a\\u00e9\\\"}\", \"n\": [1, 2.5, -3]}, \"id\": %s}\r\n",
		 id);
	for (i = 0; msg[i]; i++) {
		put(fd, msg + i, 1);
		usleep(2000);
	}
}

TEST_F(qmp, reply_split_over_many_writes)
{
	run(_metadata, self, srv_split, 1, CMD);
	EXPECT_EQ(0, self->r.server);
	EXPECT_EQ(0, self->r.status);
	EXPECT_STREQ("{\"s\":\"a\xc3\xa9\\\"}\",\"n\":[1,2.5,-3]}\n", self->r.out);
}

static void srv_big(int fd, const char *id)
{
	char *s = malloc(BIG + 1);

	if (!s)
		_exit(2);
	memset(s, 'e', BIG);
	s[BIG] = 0;
	say(fd, id, "{\"return\": {\"data\": \"");
	put(fd, s, BIG);
	say(fd, id, "\"}, \"id\": ID}\r\n");
	free(s);
}

TEST_F(qmp, reply_of_1_mib)
{
	size_t len;

	run(_metadata, self, srv_big, 1, CMD);
	EXPECT_EQ(0, self->r.server);
	EXPECT_EQ(0, self->r.status);
	len = strlen(self->r.out);
	EXPECT_EQ(BIG + strlen("{\"data\":\"\"}\n"), len);
	EXPECT_EQ(0, strncmp(self->r.out, "{\"data\":\"eeee", 13));
	EXPECT_EQ(0, strcmp(self->r.out + len - 4, "e\"}\n"));
}

static void srv_huge(int fd, const char *id)
{
	char *s = malloc(BIG);
	int i;

	if (!s)
		_exit(2);
	memset(s, 'x', BIG);
	say(fd, id, "{\"return\": \"");
	for (i = 0; i < 17; i++)
		put(fd, s, BIG);
	free(s);
}

TEST_F(qmp, message_over_16_mib_refused)
{
	run(_metadata, self, srv_huge, 1, CMD);
	EXPECT_EQ(0, self->r.server);
	EXPECT_NE(0, self->r.status);
	EXPECT_STREQ("", self->r.out);
	EXPECT_NE(NULL, strstr(self->r.err, "larger than 16 MiB"));
}

static void srv_two(int fd, const char *id)
{
	say(fd, id, "{\"event\": \"STOP\"}\r\n"
		"{\"return\": {\"a\": 1}, \"id\": ID}\r\n"
		"{\"event\": \"RESUME\"}\r\n");
}

TEST_F(qmp, two_objects_in_one_write)
{
	run(_metadata, self, srv_two, 1, CMD);
	EXPECT_EQ(0, self->r.server);
	EXPECT_EQ(0, self->r.status);
	EXPECT_STREQ("{\"a\":1}\n", self->r.out);
}

static void srv_other_id(int fd, const char *id)
{
	say(fd, id, "{\"return\": {\"wrong\": 1}, \"id\": 99999}\r\n");
	say(fd, id, "{\"return\": {\"wrong\": 2}, \"id\": \"ID\"}\r\n");
	say(fd, id, "{\"return\": {\"wrong\": 3}}\r\n");
	say(fd, id, "{\"return\": {\"right\": true}, \"id\": ID}\r\n");
}

TEST_F(qmp, other_ids_skipped)
{
	run(_metadata, self, srv_other_id, 1, CMD);
	EXPECT_EQ(0, self->r.server);
	EXPECT_EQ(0, self->r.status);
	EXPECT_STREQ("{\"right\":true}\n", self->r.out);
}

static void srv_error(int fd, const char *id)
{
	say(fd, id, "{\"event\": \"X\"}\r\n"
		"{\"id\": ID, \"error\": {"
		"\"class\": \"CommandNotFound\", \"desc\": \"The command nope has not been found\"}}\r\n");
}

TEST_F(qmp, error_reply)
{
	run(_metadata, self, srv_error, 1, CMD);
	EXPECT_EQ(0, self->r.server);
	EXPECT_EQ(1, self->r.status);
	EXPECT_STREQ("", self->r.out);
	EXPECT_NE(NULL, strstr(self->r.err,
			       "qmp: CommandNotFound: The command nope has not been found\n"));
}

/* QEMU leaves the id out when it could not parse the command. */
static void srv_error_no_id(int fd, const char *id)
{
	say(fd, id, "{\"error\": {"
		"\"class\": \"GenericError\", \"desc\": \"JSON parse error, stray '}'\"}}\r\n");
}

TEST_F(qmp, error_reply_without_id)
{
	run(_metadata, self, srv_error_no_id, 1, CMD);
	EXPECT_EQ(0, self->r.server);
	EXPECT_EQ(1, self->r.status);
	EXPECT_NE(NULL, strstr(self->r.err,
			       "qmp: GenericError: JSON parse error, stray '}'\n"));
}

TEST_F(qmp, closed_before_greeting)
{
	run(_metadata, self, NULL, 1, CMD);
	EXPECT_NE(0, self->r.status);
	EXPECT_STREQ("", self->r.out);
	EXPECT_NE(NULL, strstr(self->r.err, "closed the connection"));
}

static void srv_close(int fd, const char *id)
{
	say(fd, id, "{\"event\": \"SHUTDOWN\"}\r\n");
}

TEST_F(qmp, closed_after_command)
{
	run(_metadata, self, srv_close, 1, CMD);
	EXPECT_EQ(0, self->r.server);
	EXPECT_NE(0, self->r.status);
	EXPECT_STREQ("", self->r.out);
	EXPECT_NE(NULL, strstr(self->r.err, "closed the connection"));
}

static void srv_close_mid(int fd, const char *id)
{
	say(fd, id, "{\"return\": {\"status\": \"runn");
}

TEST_F(qmp, closed_in_the_middle_of_a_reply)
{
	run(_metadata, self, srv_close_mid, 1, CMD);
	EXPECT_EQ(0, self->r.server);
	EXPECT_NE(0, self->r.status);
	EXPECT_STREQ("", self->r.out);
	EXPECT_NE(NULL, strstr(self->r.err, "in the middle of a message"));
}

static void srv_garbage(int fd, const char *id)
{
	say(fd, id, "{\"return\": ]}\r\n");
}

TEST_F(qmp, garbage_json)
{
	run(_metadata, self, srv_garbage, 1, CMD);
	EXPECT_EQ(0, self->r.server);
	EXPECT_NE(0, self->r.status);
	EXPECT_STREQ("", self->r.out);
	EXPECT_NE(NULL, strstr(self->r.err, "bad JSON from QEMU"));
}

static void srv_not_object(int fd, const char *id)
{
	say(fd, id, "[\"return\", ID]\r\n");
}

TEST_F(qmp, reply_not_an_object)
{
	run(_metadata, self, srv_not_object, 1, CMD);
	EXPECT_EQ(0, self->r.server);
	EXPECT_NE(0, self->r.status);
	EXPECT_NE(NULL, strstr(self->r.err, "not an object"));
}

static void srv_silent(int fd, const char *id)
{
	char c;

	/* Answer nothing; wait for the client to give up. */
	while (read(fd, &c, 1) == 1)
		;
}

TEST_F(qmp, no_answer_times_out)
{
	run(_metadata, self, srv_silent, 1, CMD);
	EXPECT_EQ(0, self->r.server);
	EXPECT_NE(0, self->r.status);
	EXPECT_NE(NULL, strstr(self->r.err, "did not answer within 2 s"));
	EXPECT_LE(1900, self->r.ms);
	EXPECT_GE(8000, self->r.ms);
}

/* A server that greets with something else than QEMU's greeting. */
TEST_F(qmp, no_greeting)
{
	pid_t srv = fork();

	ASSERT_LE(0, srv);
	if (!srv) {
		int fd = accept(self->lfd, NULL, NULL);

		puts_fd(fd, "{\"hello\": 1}\n");
		_exit(0);
	}
	run(_metadata, self, NULL, 0, CMD);
	waitpid(srv, NULL, 0);
	EXPECT_NE(0, self->r.status);
	EXPECT_NE(NULL, strstr(self->r.err, "no QMP greeting"));
}

TEST_F(qmp, command_not_json)
{
	run(_metadata, self, NULL, 0, "{\"execute\": ");
	EXPECT_NE(0, self->r.status);
	EXPECT_NE(NULL, strstr(self->r.err, "bad QMP command"));
	run(_metadata, self, NULL, 0, "[1]");
	EXPECT_NE(0, self->r.status);
	EXPECT_NE(NULL, strstr(self->r.err, "not a JSON object"));
}

TEST_HARNESS_MAIN
