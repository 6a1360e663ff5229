/*-------------------------------------------------------------------------
 *
 * asan_defaults.c
 *	  AddressSanitizer's default options, linked into eventbus.so only by
 *	  test/asan.sh.
 *
 * The runtime reads ASAN_OPTIONS from the process's initial environment,
 * which PostgreSQL overwrites with the process title: a backend that loads
 * the library on first use (no shared_preload_libraries) would not see
 * them, and would refuse to start the runtime because it was not preloaded.
 * ASAN_OPTIONS, where readable, still take precedence.
 *
 *-------------------------------------------------------------------------
 */
const char *__asan_default_options(void);

const char *
__asan_default_options(void)
{
	return "verify_asan_link_order=0:detect_leaks=0:abort_on_error=1:disable_coredump=1";
}
