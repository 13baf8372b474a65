/* A C user of checksig, compiled with -Wall -Wextra -Werror against include/checksig.h
 * and run under valgrind by tests/c_program.rs.
 *
 * usage: test_checksig GOOD_DIR BAD_DIR EXPECTED_BAD_MESSAGE checksig_free|free BIG_DIR
 * The fourth argument picks how verify()'s message is released: the library's
 * checksig_free, or plain libc free (what Go-era ctypes users call as so.free).
 * BIG_DIR holds enough data that a check of it is still running when cancelled. */

#define _POSIX_C_SOURCE 200809L /* clock_gettime under -std=c11 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "checksig.h"

static int failures = 0;

#define EXPECT(condition)                                                          \
    do {                                                                           \
        if (!(condition)) {                                                        \
            fprintf(stderr, "%s:%d: expected %s\n", __FILE__, __LINE__, #condition); \
            failures++;                                                            \
        }                                                                          \
    } while (0)

static void release(char *message, const char *mode) {
    if (strcmp(mode, "free") == 0) {
        free(message);
    } else {
        checksig_free(message);
    }
}

static void test_verify(const char *good, const char *bad, const char *expected, const char *mode) {
    char *message = verify(good);
    EXPECT(message == NULL);
    release(message, mode); /* NULL is fine for both */

    message = verify(bad);
    EXPECT(message != NULL);
    if (message != NULL) {
        if (strcmp(message, expected) != 0) {
            fprintf(stderr, "got message:      [%s]\nexpected message: [%s]\n", message, expected);
            failures++;
        }
        release(message, mode);
    }

    message = verify(NULL);
    EXPECT(message != NULL && strstr(message, "root_dir is NULL") != NULL);
    release(message, mode);
}

static void test_handle(const char *bad) {
    checksig_options options;
    memset(&options, 0, sizeof options);
    options.jobs = 2;
    checksig_job *check = checksig_start(bad, &options);
    EXPECT(check != NULL);
    EXPECT(checksig_wait(check, -1));
    EXPECT(checksig_get_status(check) == CHECKSIG_FAILED);

    checksig_progress progress;
    EXPECT(checksig_get_progress(check, &progress));
    EXPECT(progress.files_done == progress.files_total);
    EXPECT(progress.bytes_done == progress.bytes_total);

    checksig_counts counts;
    EXPECT(checksig_get_counts(check, &counts));
    EXPECT(counts.entries == 10 && counts.matched == 9 && counts.failed == 1 && counts.skipped == 0);

    EXPECT(checksig_failure_count(check) == 1);
    checksig_failure failure;
    EXPECT(checksig_failure_at(check, 0, &failure));
    EXPECT(failure.reason == CHECKSIG_REASON_MISMATCH);
    EXPECT(strlen(failure.path) == failure.path_len);
    EXPECT(strlen(failure.expected_hex) == 40 && strlen(failure.actual_hex) == 40);
    EXPECT(strcmp(failure.detail, "") == 0);
    EXPECT(!checksig_failure_at(check, 1, &failure));
    EXPECT(!checksig_failure_at(check, 0, NULL));

    char *message = checksig_get_message(check);
    EXPECT(message != NULL && strstr(message, " - mismatch") != NULL);
    checksig_free(message);
    EXPECT(checksig_match_count(check) == 0); /* not asked for */
    checksig_job_free(check);

    /* With list_matches, the nine matching entries in manifest order. */
    options.list_matches = true;
    check = checksig_start(bad, &options);
    EXPECT(checksig_wait(check, -1));
    EXPECT(checksig_match_count(check) == 9);
    checksig_match match;
    uint64_t previous_line = 0;
    for (size_t i = 0; i < checksig_match_count(check); i++) {
        EXPECT(checksig_match_at(check, i, &match));
        EXPECT(match.line > previous_line && strlen(match.path) == match.path_len);
        previous_line = match.line;
    }
    EXPECT(!checksig_match_at(check, 9, &match));
    checksig_job_free(check);
    options.list_matches = false;

    /* shown_root: the paths a cluster worker reports are the client's. */
    options.shown_root = "/as/the/client/sees/it";
    check = checksig_start(bad, &options);
    EXPECT(checksig_wait(check, -1));
    EXPECT(checksig_failure_at(check, 0, &failure));
    EXPECT(strncmp(failure.path, "/as/the/client/sees/it/", 23) == 0);
    message = checksig_get_message(check);
    EXPECT(message != NULL && strstr(message, "/as/the/client/sees/it/") != NULL);
    checksig_free(message);
    checksig_job_free(check);
    options.shown_root = NULL;

    /* A manifest that does not exist: an error status and message, no report. */
    options.manifest = "no-such-manifest.txt";
    check = checksig_start(bad, &options);
    EXPECT(checksig_wait(check, 10000));
    EXPECT(checksig_get_status(check) == CHECKSIG_ERROR);
    EXPECT(checksig_failure_count(check) == 0);
    message = checksig_get_message(check);
    EXPECT(message != NULL && strstr(message, "no-such-manifest.txt\" - cannot read manifest") != NULL);
    checksig_free(message);
    checksig_job_free(check);

    /* Freeing a handle straight away cancels and joins its check. */
    check = checksig_start(bad, NULL);
    checksig_cancel(check);
    checksig_job_free(check);

    /* NULL everywhere: no crash. */
    EXPECT(checksig_wait(NULL, 0));
    checksig_cancel(NULL);
    EXPECT(!checksig_get_progress(NULL, &progress));
    EXPECT(checksig_get_status(NULL) == CHECKSIG_ERROR);
    EXPECT(!checksig_get_counts(NULL, &counts));
    EXPECT(checksig_failure_count(NULL) == 0);
    message = checksig_get_message(NULL);
    EXPECT(message != NULL);
    checksig_free(message);
    checksig_job_free(NULL);
    checksig_free(NULL);
    EXPECT(strlen(checksig_version()) > 0);
    EXPECT(checksig_get_manifest_path(NULL) == NULL);
    EXPECT(!checksig_get_created(NULL, &(checksig_created){0}));
}

/* A streamed check: every verdict fetched in manifest order, as records and as lines. */
static void test_stream(const char *bad_dir) {
    checksig_options options;
    memset(&options, 0, sizeof options);
    options.stream = true;
    options.readers = 8;
    checksig_job *job = checksig_start(bad_dir, &options);
    checksig_verdict verdicts[3];
    uint64_t next_line = 1;
    size_t failed = 0;
    while (!checksig_stream_done(job)) {
        size_t count = checksig_next_verdicts(job, verdicts, 3, 100);
        for (size_t i = 0; i < count; i++) {
            EXPECT(verdicts[i].line == next_line);
            next_line++;
            if (verdicts[i].status == CHECKSIG_VERDICT_FAILED) {
                failed++;
                EXPECT(verdicts[i].reason == CHECKSIG_REASON_MISMATCH);
                EXPECT(strstr(verdicts[i].path, "app-04.log") != NULL);
                EXPECT(strlen(verdicts[i].actual_hex) == 40);
            }
        }
    }
    EXPECT(next_line == 11 && failed == 1);
    EXPECT(checksig_get_status(job) == CHECKSIG_FAILED);
    EXPECT(checksig_failure_count(job) == 0); /* streamed: nothing kept */
    checksig_job_free(job);

    job = checksig_start(bad_dir, &options);
    size_t capacity = CHECKSIG_LINES_MIN_CAPACITY;
    char *buffer = malloc(capacity);
    char all[4096] = "";
    while (!checksig_stream_done(job)) {
        size_t written = checksig_next_lines(job, CHECKSIG_LINES_FAILURES, buffer, capacity, 100);
        EXPECT(strlen(all) + written < sizeof all);
        strncat(all, buffer, written);
    }
    EXPECT(strstr(all, "app-04.log: FAILED (mismatch)\n") != NULL);
    EXPECT(strstr(all, ": OK") == NULL);
    EXPECT(checksig_next_lines(job, 99, buffer, capacity, 0) == 0);
    EXPECT(checksig_next_lines(job, CHECKSIG_LINES_TEXT, buffer, 10, 0) == 0);
    free(buffer);
    checksig_job_free(job);

    /* Not streamed: nothing to fetch, and the end is the end of the check. */
    job = checksig_start(bad_dir, NULL);
    EXPECT(checksig_wait(job, -1));
    EXPECT(checksig_stream_done(job));
    EXPECT(checksig_next_verdicts(job, verdicts, 3, 0) == 0);
    checksig_job_free(job);
}

/* The names and numbers the library defines once, read back. */
static void test_tables(void) {
    EXPECT(strcmp(checksig_reason_name(CHECKSIG_REASON_MISMATCH), "mismatch") == 0);
    EXPECT(strcmp(checksig_reason_name(CHECKSIG_REASON_READ_ERROR), "read error") == 0);
    EXPECT(checksig_reason_name(0) == NULL && checksig_reason_name(99) == NULL);
    EXPECT(strcmp(checksig_algorithm_name(CHECKSIG_ALGORITHM_SHA256), "sha256") == 0);
    EXPECT(checksig_algorithm_name(CHECKSIG_ALGORITHM_AUTO) == NULL);
    EXPECT(checksig_algorithm_from_name("SHA-512") == CHECKSIG_ALGORITHM_SHA512);
    EXPECT(checksig_algorithm_from_name("md4") == CHECKSIG_ALGORITHM_AUTO);
    EXPECT(checksig_algorithm_from_name(NULL) == CHECKSIG_ALGORITHM_AUTO);
    EXPECT(checksig_algorithm_from_name("MD5") == CHECKSIG_ALGORITHM_MD5);
    EXPECT(checksig_algorithm_from_name("BLAKE2b") == CHECKSIG_ALGORITHM_BLAKE2B);
    /* A length is not part of a number: options.blake2b_bits carries it. */
    EXPECT(checksig_algorithm_from_name("BLAKE2b-256") == CHECKSIG_ALGORITHM_AUTO);
    EXPECT(strcmp(checksig_algorithm_name(CHECKSIG_ALGORITHM_BLAKE3), "blake3") == 0);
    EXPECT(checksig_algorithm_name(CHECKSIG_ALGORITHM_BLAKE3 + 1) == NULL);
    EXPECT(checksig_algorithm_hex_len(CHECKSIG_ALGORITHM_SHA1) == 40);
    EXPECT(checksig_algorithm_hex_len(CHECKSIG_ALGORITHM_SHA384) == 96);
    EXPECT(checksig_algorithm_hex_len(CHECKSIG_ALGORITHM_BLAKE2B) == 128);
    EXPECT(strcmp(checksig_algorithm_default_manifest(CHECKSIG_ALGORITHM_BLAKE3), "b3sums.txt") == 0);
    EXPECT(strcmp(checksig_algorithm_default_manifest(CHECKSIG_ALGORITHM_AUTO), "sha1sum.txt") == 0);
    EXPECT(checksig_hex_capacity() == CHECKSIG_HEX_CAPACITY);
    char *shown = checksig_display_name("a\nb\\c", 5);
    EXPECT(shown != NULL && strcmp(shown, "\\a\\nb\\\\c") == 0);
    checksig_free(shown);
    EXPECT(checksig_display_name(NULL, 3) == NULL);
}

/* Writes a SHA-256 manifest of `dir` under another name, then checks against it. */
static void test_create(const char *dir) {
    checksig_options options;
    memset(&options, 0, sizeof options);
    options.algorithm = CHECKSIG_ALGORITHM_SHA256;
    options.manifest = "created.sha256";
    char *message = checksig_create(dir, &options);
    EXPECT(message == NULL);
    checksig_free(message);

    /* The same through a job: what was written, and where. */
    checksig_job *creation = checksig_create_start(dir, &options);
    EXPECT(checksig_wait(creation, -1));
    EXPECT(checksig_get_status(creation) == CHECKSIG_OK);
    checksig_created created;
    EXPECT(checksig_get_created(creation, &created));
    EXPECT(created.files == 11 && created.skipped == 0 && created.bytes > 0);
    EXPECT(!checksig_get_counts(creation, &(checksig_counts){0}));
    char *path = checksig_get_manifest_path(creation);
    EXPECT(path != NULL && strstr(path, "created.sha256") != NULL);
    checksig_free(path);
    checksig_job_free(creation);

    checksig_job *check = checksig_start(dir, &options);
    EXPECT(checksig_wait(check, -1));
    EXPECT(checksig_get_status(check) == CHECKSIG_OK);
    checksig_counts counts;
    EXPECT(checksig_get_counts(check, &counts));
    EXPECT(counts.entries == 11 && counts.matched == 11); /* 10 logs and sha1sum.txt */
    checksig_job_free(check);

    /* BLAKE2b-256 in tagged lines, as `b2sum -l 256 --tag` writes them; checked with
     * the algorithm named by the manifest's tags alone. */
    options.algorithm = CHECKSIG_ALGORITHM_BLAKE2B;
    options.blake2b_bits = 256;
    options.tag = true;
    options.manifest = "created.b2";
    message = checksig_create(dir, &options);
    EXPECT(message == NULL);
    checksig_free(message);
    checksig_options plain;
    memset(&plain, 0, sizeof plain);
    plain.manifest = "created.b2";
    check = checksig_start(dir, &plain);
    EXPECT(checksig_wait(check, -1));
    EXPECT(checksig_get_status(check) == CHECKSIG_OK);
    EXPECT(checksig_get_counts(check, &counts));
    EXPECT(counts.entries == 12 && counts.matched == 12); /* and created.sha256 */
    checksig_job_free(check);

    options.blake2b_bits = 12; /* not a multiple of 8 */
    message = checksig_create(dir, &options);
    EXPECT(message != NULL && strstr(message, "multiple of 8") != NULL);
    checksig_free(message);
    /* The same refusal asked before starting: a bad argument, not a failed run. */
    message = checksig_create_options_error(&options);
    EXPECT(message != NULL && strncmp(message, "invalid argument: ", 18) == 0);
    EXPECT(message != NULL && strstr(message, "multiple of 8") != NULL);
    checksig_free(message);
    EXPECT(checksig_create_options_error(&plain) == NULL);
    EXPECT(checksig_create_options_error(NULL) == NULL);
    checksig_options blake3_tagged = plain;
    blake3_tagged.algorithm = CHECKSIG_ALGORITHM_BLAKE3;
    blake3_tagged.tag = true;
    message = checksig_create_options_error(&blake3_tagged);
    EXPECT(message != NULL && strstr(message, "BLAKE3 has no tagged form") != NULL);
    checksig_free(message);
    options.blake2b_bits = 0;
    options.tag = false;
    /* Leave the directory as it was: the program runs twice (plain, then valgrind). */
    char b2_path[4096];
    snprintf(b2_path, sizeof b2_path, "%s/created.b2", dir);
    EXPECT(remove(b2_path) == 0);

    options.algorithm = 99;
    message = checksig_create(dir, &options);
    EXPECT(message != NULL && strstr(message, "unknown algorithm") != NULL);
    checksig_free(message);
}

static double seconds_now(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)now.tv_sec + (double)now.tv_nsec / 1e9;
}

/* Cancels a check of a large data set from this thread while it runs: it must end
 * within `bound` seconds as CANCELLED, with progress short of the totals, and leak
 * nothing. (The caller evicted the data set from the page cache: reads are in flight
 * around it when the cancel comes.) */
static void test_cancel(const char *big, double bound) {
    /* Many reads in flight: every one of them is stopped, and nothing leaks. */
    checksig_options options;
    memset(&options, 0, sizeof options);
    options.readers = 64;
    checksig_job *check = checksig_start(big, &options);
    checksig_progress progress;
    memset(&progress, 0, sizeof progress);
    /* Wait until hashing has started (bytes_total is known and some bytes are done). */
    for (int i = 0; i < 2000 && progress.bytes_done == 0; i++) {
        EXPECT(!checksig_wait(check, 5));
        EXPECT(checksig_get_progress(check, &progress));
    }
    EXPECT(progress.bytes_done > 0 && progress.bytes_total > progress.bytes_done);
    double cancelled_at = seconds_now();
    checksig_cancel(check);
    EXPECT(checksig_wait(check, 5000));
    double stopped_after = seconds_now() - cancelled_at;
    if (stopped_after > bound) {
        fprintf(stderr, "cancel took %.3f s\n", stopped_after);
        failures++;
    }
    EXPECT(checksig_get_status(check) == CHECKSIG_CANCELLED);
    char *message = checksig_get_message(check);
    EXPECT(message != NULL && strcmp(message, "cancelled") == 0);
    checksig_free(message);
    checksig_job_free(check);
}

int main(int argc, char **argv) {
    if (argc != 7) {
        fprintf(stderr,
                "usage: %s GOOD_DIR BAD_DIR EXPECTED_MESSAGE checksig_free|free BIG_DIR "
                "CANCEL_SECONDS\n",
                argv[0]);
        return 2;
    }
    test_verify(argv[1], argv[2], argv[3], argv[4]);
    test_handle(argv[2]);
    test_create(argv[1]);
    test_tables();
    test_stream(argv[2]);
    test_cancel(argv[5], strtod(argv[6], NULL));
    if (failures != 0) {
        fprintf(stderr, "%d check(s) failed\n", failures);
        return 1;
    }
    printf("C test passed (%s)\n", argv[4]);
    return 0;
}
