/*
 * http_loadgen.c
 *		The baseline of test/bench/http_bench.sh: sends HTTP requests straight
 *		at a server with a fixed number in flight, over keep-alive
 *		connections, using libcurl's multi interface, and reports the rate
 *		and the latency of each request.
 *
 * Each request's body is one line of a bodies file (the JSON texts eventbus
 * sends for the benchmark's events), taken in order and again from the start
 * when the file has fewer lines than requests.  A new request starts as soon
 * as one completes, so exactly --parallel requests are in flight until the
 * last ones.  Every easy handle is reused for its next request, so its
 * connection stays open (HTTP/1.1 keep-alive: one connection per handle).
 *
 *	  http_loadgen --url URL --bodies FILE --requests N [--parallel P]
 *				   [--method POST] [--header "Name: value"]... [--id-header NAME]
 *
 * --id-header NAME adds "NAME: <request number>" to each request, as eventbus
 * adds its event id header.  Output, one "key value" a line: requests, ok
 * (2xx), failed (other statuses and transfer errors), seconds, rate
 * (requests/s), latency_p50_ms, latency_p99_ms, latency_max_ms (from the
 * start of a request to its response), bytes_sent (request lines, headers and
 * bodies).
 * Exit status 1 on a usage error, 2 when a request failed.
 *
 * Build: gcc -O2 -Wall -Werror -o http_loadgen http_loadgen.c -lcurl
 */
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_HEADERS 32

typedef struct Body
{
	char	   *data;
	size_t		len;
} Body;

typedef struct Slot
{
	CURL	   *easy;
	struct curl_slist *headers;		/* the fixed headers plus this request's id */
	double		started;		/* monotonic seconds */
	long		number;			/* which request */
	size_t		body_len;
} Slot;

static const char *fixed_headers[MAX_HEADERS];
static int	nfixed_headers;
static const char *id_header;

static double
now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
usage(void)
{
	fprintf(stderr,
			"usage: http_loadgen --url URL --bodies FILE --requests N [--parallel P]\n"
			"                    [--method METHOD] [--header 'Name: value']... [--id-header NAME]\n");
	exit(1);
}

/* the response body is not kept */
static size_t
discard(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	(void) ptr;
	(void) userdata;
	return size * nmemb;
}

/* every line of the file, without its newline; empty lines are skipped */
static Body *
read_bodies(const char *path, long *count)
{
	FILE	   *f = fopen(path, "r");
	Body	   *bodies = NULL;
	long		n = 0,
				cap = 0;
	char	   *line = NULL;
	size_t		linecap = 0;
	ssize_t		len;

	if (f == NULL)
	{
		fprintf(stderr, "http_loadgen: cannot open %s: %s\n", path, strerror(errno));
		exit(1);
	}
	while ((len = getline(&line, &linecap, f)) > 0)
	{
		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			len--;
		if (len == 0)
			continue;
		if (n == cap)
		{
			cap = cap ? cap * 2 : 1024;
			bodies = realloc(bodies, cap * sizeof(Body));
			if (bodies == NULL)
			{
				fprintf(stderr, "http_loadgen: out of memory\n");
				exit(1);
			}
		}
		bodies[n].data = malloc(len);
		if (bodies[n].data == NULL)
		{
			fprintf(stderr, "http_loadgen: out of memory\n");
			exit(1);
		}
		memcpy(bodies[n].data, line, len);
		bodies[n].len = len;
		n++;
	}
	free(line);
	fclose(f);
	if (n == 0)
	{
		fprintf(stderr, "http_loadgen: %s holds no body\n", path);
		exit(1);
	}
	*count = n;
	return bodies;
}

static int
compare_double(const void *a, const void *b)
{
	double		x = *(const double *) a,
				y = *(const double *) b;

	return (x > y) - (x < y);
}

/* linear interpolation between the closest ranks, as percentile_cont */
static double
percentile(const double *sorted, long n, double p)
{
	double		pos;
	long		lo;

	if (n == 0)
		return 0;
	pos = p * (n - 1);
	lo = (long) pos;
	if (lo + 1 >= n)
		return sorted[n - 1];
	return sorted[lo] + (pos - lo) * (sorted[lo + 1] - sorted[lo]);
}

/* set up a slot's handle for request number; the handle keeps its connection */
static void
prepare_request(Slot *slot, const Body *body, long number)
{
	int			i;

	curl_slist_free_all(slot->headers);
	slot->headers = NULL;
	for (i = 0; i < nfixed_headers; i++)
		slot->headers = curl_slist_append(slot->headers, fixed_headers[i]);
	if (id_header != NULL)
	{
		char		line[256];

		snprintf(line, sizeof(line), "%s: %ld", id_header, number);
		slot->headers = curl_slist_append(slot->headers, line);
	}
	curl_easy_setopt(slot->easy, CURLOPT_HTTPHEADER, slot->headers);
	curl_easy_setopt(slot->easy, CURLOPT_POSTFIELDS, body->data);
	curl_easy_setopt(slot->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) body->len);
	slot->number = number;
	slot->body_len = body->len;
	slot->started = now_seconds();
}

int
main(int argc, char **argv)
{
	const char *url = NULL,
			   *bodies_path = NULL,
			   *method = "POST";
	long		requests = 0,
				parallel = 64,
				nbodies,
				next = 0,
				done = 0,
				ok = 0,
				failed = 0,
				i;
	Body	   *bodies;
	Slot	   *slots;
	double	   *latencies;
	double		t0,
				t1;
	curl_off_t	bytes_sent = 0;
	CURLM	   *multi;
	int			running = 0;

	for (i = 1; i < argc; i++)
	{
		const char *arg = argv[i];

		if (i + 1 >= argc)
			usage();
		if (strcmp(arg, "--url") == 0)
			url = argv[++i];
		else if (strcmp(arg, "--bodies") == 0)
			bodies_path = argv[++i];
		else if (strcmp(arg, "--requests") == 0)
			requests = atol(argv[++i]);
		else if (strcmp(arg, "--parallel") == 0)
			parallel = atol(argv[++i]);
		else if (strcmp(arg, "--method") == 0)
			method = argv[++i];
		else if (strcmp(arg, "--id-header") == 0)
			id_header = argv[++i];
		else if (strcmp(arg, "--header") == 0)
		{
			if (nfixed_headers == MAX_HEADERS - 2)
				usage();
			fixed_headers[nfixed_headers++] = argv[++i];
		}
		else
			usage();
	}
	if (url == NULL || bodies_path == NULL || requests <= 0 || parallel <= 0)
		usage();
	if (parallel > requests)
		parallel = requests;

	/* as a JSON API client: a JSON body, and no "Expect: 100-continue" wait */
	fixed_headers[nfixed_headers++] = "Content-Type: application/json";
	fixed_headers[nfixed_headers++] = "Expect:";

	bodies = read_bodies(bodies_path, &nbodies);
	latencies = malloc(requests * sizeof(double));
	slots = calloc(parallel, sizeof(Slot));
	if (latencies == NULL || slots == NULL)
	{
		fprintf(stderr, "http_loadgen: out of memory\n");
		return 1;
	}

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
	{
		fprintf(stderr, "http_loadgen: curl_global_init failed\n");
		return 1;
	}
	multi = curl_multi_init();
	/* one connection per request in flight, all kept open */
	curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, parallel);
	curl_multi_setopt(multi, CURLMOPT_MAX_HOST_CONNECTIONS, parallel);

	for (i = 0; i < parallel; i++)
	{
		CURL	   *easy = curl_easy_init();

		curl_easy_setopt(easy, CURLOPT_URL, url);
		curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, method);
		curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, discard);
		curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(easy, CURLOPT_TCP_NODELAY, 1L);
		curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, 5000L);
		curl_easy_setopt(easy, CURLOPT_PRIVATE, &slots[i]);
		slots[i].easy = easy;
	}

	t0 = now_seconds();
	for (i = 0; i < parallel; i++)
	{
		prepare_request(&slots[i], &bodies[next % nbodies], next);
		next++;
		curl_multi_add_handle(multi, slots[i].easy);
	}

	while (done < requests)
	{
		CURLMsg    *msg;
		int			left;
		CURLMcode	mc;

		mc = curl_multi_perform(multi, &running);
		if (mc == CURLM_OK && running > 0)
			mc = curl_multi_poll(multi, NULL, 0, 1000, NULL);
		if (mc != CURLM_OK)
		{
			fprintf(stderr, "http_loadgen: %s\n", curl_multi_strerror(mc));
			return 1;
		}
		while ((msg = curl_multi_info_read(multi, &left)) != NULL)
		{
			Slot	   *slot;
			long		status = 0;
			long		header_bytes = 0;

			if (msg->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **) &slot);
			curl_easy_getinfo(slot->easy, CURLINFO_RESPONSE_CODE, &status);
			curl_easy_getinfo(slot->easy, CURLINFO_REQUEST_SIZE, &header_bytes);
			bytes_sent += header_bytes + slot->body_len;
			latencies[done++] = (now_seconds() - slot->started) * 1000;
			if (msg->data.result == CURLE_OK && status >= 200 && status < 300)
				ok++;
			else
			{
				if (failed < 5)
					fprintf(stderr, "http_loadgen: request %ld: %s, status %ld\n", slot->number,
							curl_easy_strerror(msg->data.result), status);
				failed++;
			}
			curl_multi_remove_handle(multi, slot->easy);
			if (next < requests)
			{
				prepare_request(slot, &bodies[next % nbodies], next);
				next++;
				curl_multi_add_handle(multi, slot->easy);
			}
		}
	}
	t1 = now_seconds();

	qsort(latencies, done, sizeof(double), compare_double);
	printf("requests %ld\n", done);
	printf("ok %ld\n", ok);
	printf("failed %ld\n", failed);
	printf("seconds %.6f\n", t1 - t0);
	printf("rate %.1f\n", done / (t1 - t0));
	printf("latency_p50_ms %.3f\n", percentile(latencies, done, 0.50));
	printf("latency_p99_ms %.3f\n", percentile(latencies, done, 0.99));
	printf("latency_max_ms %.3f\n", done ? latencies[done - 1] : 0.0);
	printf("bytes_sent %lld\n", (long long) bytes_sent);

	for (i = 0; i < parallel; i++)
	{
		curl_easy_cleanup(slots[i].easy);
		curl_slist_free_all(slots[i].headers);
	}
	curl_multi_cleanup(multi);
	curl_global_cleanup();
	for (i = 0; i < nbodies; i++)
		free(bodies[i].data);
	free(bodies);
	free(slots);
	free(latencies);
	return failed ? 2 : 0;
}
